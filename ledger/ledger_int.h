/*
** ledger_int.h -- what ledger.c and export.c share and nobody else sees.
*/
#ifndef IMX_LEDGER_INT_H
#define IMX_LEDGER_INT_H

#include "imx_ledger.h"

/* Sets the message imx_ledger_error returns; returns -1. */
int imx_ledger_error_set(imx_ledger *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* IMX_LEDGER_INT_H */
