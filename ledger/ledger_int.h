/*
** ledger_int.h -- what ledger.c, export.c and export_sap.c share and nobody
** else sees.
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

/* The sap export (export_sap.c), which imx_export calls: money_flags are
** imx_money_format's (IMX_MONEY_COMMA). Returns 0 or -1. */
int imx_export_sap(imx_ledger *l, const imx_market *m, int64_t period,
                   unsigned money_flags, FILE *out, int64_t *rows);

#endif /* IMX_LEDGER_INT_H */
