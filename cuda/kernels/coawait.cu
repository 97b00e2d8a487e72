// coawait.cu: the one compilation unit of module "coawait" (see genptx.sh).
// Every kernel is extern "C", so its PTX entry is its plain name.
#include "conformance.cu"
#include "sgemm.cu"
#include "mlp.cu"
