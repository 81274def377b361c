#ifndef MAILROOM_CLDNS_SHIM_H
#define MAILROOM_CLDNS_SHIM_H
#include <ldns/ldns.h>

/* The header flags are macros of type int; Swift wants the uint16_t ldns_resolver_query_status takes. */
static inline uint16_t cldns_flag_rd(void) { return LDNS_RD; }
static inline uint16_t cldns_flag_ad(void) { return LDNS_AD; }
#endif
