package mnist

import "fmt"

// Magic numbers of MNIST files: unsigned bytes, three dimensions (count,
// rows, columns) for images and one (count) for labels.
const (
	ImageMagic uint32 = 0x00000803
	LabelMagic uint32 = 0x00000801
)

// Classes is the number of labels: the digits 0 to 9.
const Classes = 10

// A Set is a set of labelled digit images held in memory. It is a
// loader.Dataset: each sample is Rows×Cols float32 pixels in [0, 1] (0 is
// the background) and one int32 label. A Set is read-only and safe for
// concurrent use. Make one with [ReadFiles], [Open], [Load] or [NewSet].
type Set struct {
	Rows, Cols int
	// Pixels holds the images one after another, Rows×Cols bytes each,
	// row-major; 0 is background, 255 full ink.
	Pixels []uint8
	// Labels holds the digit of each image.
	Labels []uint8
}

// NewSet makes a set from a parsed image file and label file; the names
// are for errors. It checks the magic numbers, that there are as many
// images as labels, and that every label is a digit.
func NewSet(imagesName string, images *IDX, labelsName string, labels *IDX) (*Set, error) {
	if images == nil || labels == nil {
		panic("mnist: NewSet called with a nil IDX")
	}
	if m := images.Magic(); m != ImageMagic {
		return nil, formatErr(imagesName, nil, "magic number 0x%08x, want 0x%08x (unsigned bytes in 3 dimensions: an image file)", m, ImageMagic)
	}
	if m := labels.Magic(); m != LabelMagic {
		return nil, formatErr(labelsName, nil, "magic number 0x%08x, want 0x%08x (unsigned bytes in 1 dimension: a label file)", m, LabelMagic)
	}
	if n, m := images.Dims[0], labels.Dims[0]; n != m {
		return nil, formatErr(imagesName, nil, "has %d images but %s has %d labels", n, labelsName, m)
	}
	if images.Dims[1] == 0 || images.Dims[2] == 0 {
		return nil, formatErr(imagesName, nil, "images of %d×%d pixels", images.Dims[1], images.Dims[2])
	}
	for i, l := range labels.Data {
		if l >= Classes {
			return nil, formatErr(labelsName, nil, "label %d of sample %d is not a digit", l, i)
		}
	}
	return &Set{Rows: images.Dims[1], Cols: images.Dims[2], Pixels: images.Data, Labels: labels.Data}, nil
}

// Len is the number of images.
func (s *Set) Len() int { return len(s.Labels) }

// Shape is Rows×Cols features and one label per sample.
func (s *Set) Shape() (features, labels int) { return s.Rows * s.Cols, 1 }

// Image returns the pixels of image i, which must not be modified.
func (s *Set) Image(i int) []uint8 {
	n := s.Rows * s.Cols
	return s.Pixels[i*n : (i+1)*n : (i+1)*n]
}

// scale maps a pixel byte to [0, 1].
var scale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// Decode writes image i as pixels scaled to [0, 1] and its label. An index
// out of range, or views of the wrong length, are errors.
func (s *Set) Decode(i int, features []float32, labels []int32) error {
	if i < 0 || i >= s.Len() {
		return fmt.Errorf("mnist: sample %d out of range [0, %d)", i, s.Len())
	}
	n := s.Rows * s.Cols
	if len(features) != n || len(labels) != 1 {
		return fmt.Errorf("mnist: Decode given %d features and %d labels, want %d and 1", len(features), len(labels), n)
	}
	for k, p := range s.Image(i) {
		features[k] = scale[p]
	}
	labels[0] = int32(s.Labels[i])
	return nil
}

// Subset returns the first n samples of s (all if n >= Len), sharing its
// memory: for quick runs and tests.
func (s *Set) Subset(n int) *Set {
	n = max(0, min(n, s.Len()))
	return &Set{Rows: s.Rows, Cols: s.Cols, Pixels: s.Pixels[:n*s.Rows*s.Cols], Labels: s.Labels[:n]}
}
