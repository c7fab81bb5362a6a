/*
** ledger_int.h -- what ledger.c and export.c share and nobody else sees.
*/
#ifndef IMX_LEDGER_INT_H
#define IMX_LEDGER_INT_H

#include "imx_ledger.h"

/* Sets the message imx_ledger_error returns; returns -1. */
int imx_ledger_error_set(imx_ledger *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Every rating, oldest trade first (the ratings export); fn as in
** imx_ledger_ratings. Returns 0 or -1. */
int imx_ledger_ratings_each(imx_ledger *l, imx_ledger_rating_fn fn, void *ctx);

#endif /* IMX_LEDGER_INT_H */
