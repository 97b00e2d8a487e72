// Package listonly has a list in its package doc, which is not a code
// block:
//
//   - one
//   - two
package listonly
