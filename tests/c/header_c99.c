/* Compile-only check: the header stands alone in strict C99 (and again under C11),
 * included twice, with every warning an error. */
#include "oxbridge.h"
#include "oxbridge.h"

typedef char oxb_status_is_32_bits[sizeof(oxb_status) == 4 ? 1 : -1];
typedef char oxb_view_has_four_fields[sizeof(oxb_view) >= sizeof(void *) + 2 * sizeof(size_t) ? 1 : -1];

int header_c99_dummy(void);
int header_c99_dummy(void) { return OXB_OK + OXB_ABI_VERSION; }
