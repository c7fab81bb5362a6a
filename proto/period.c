/*
** period.c -- the one place where a period's number (the engine's, the
** core's and the ledger's: 1, 2, ...) meets the calendar.
**
** The market file says how long a period is ("period": "month", the only
** length so far) and which month the first one is ("first_period":
** "2026-12"). Period n is then the (n-1)-th month after the first: with
** "2026-12", period 1 is "2026-12", period 2 "2027-01". The mapping comes
** from the market file and nothing else (never the clock), so a journal
** replays to the same labels.
**
** A market file without "first_period" keeps numbered periods: the label
** of period 3 is "3", and it has no last day (exports then date each
** posting by its trade's day, as before calendars).
*/
#include <stdio.h>
#include <string.h>

#include "imx_proto.h"

/* Months are counted from year 0: year * 12 + month - 1. */
#define MONTH_FIRST (IMX_PERIOD_YEAR_MIN * 12)
#define MONTH_LAST (IMX_PERIOD_YEAR_MAX * 12 + 11)

/* "YYYY-MM" with a year in range and a month 01..12: its month count, or -1. */
int64_t imx_month_parse(const char *s) {
  if (s == NULL || strlen(s) != 7 || s[4] != '-') return -1;
  int64_t y = 0, mo = 0;
  for (int i = 0; i < 7; i++) {
    if (i == 4) continue;
    if (s[i] < '0' || s[i] > '9') return -1;
    if (i < 4) y = y * 10 + (s[i] - '0');
    else mo = mo * 10 + (s[i] - '0');
  }
  if (y < IMX_PERIOD_YEAR_MIN || y > IMX_PERIOD_YEAR_MAX || mo < 1 || mo > 12)
    return -1;
  return y * 12 + mo - 1;
}

int imx_period_label(const imx_market *m, int64_t period, char *buf, size_t cap) {
  IMX_ASSERT(m != NULL && buf != NULL && cap > 0);
  buf[0] = '\0';
  if (period < 1) return -1;
  if (m->first_month == 0) {
    int n = snprintf(buf, cap, "%lld", (long long)period);
    return n > 0 && (size_t)n < cap ? 0 : -1;
  }
  if (period - 1 > MONTH_LAST - m->first_month) return -1;
  int64_t month = m->first_month + period - 1;
  char tmp[48];
  int n = snprintf(tmp, sizeof tmp, "%04lld-%02lld", (long long)(month / 12),
                   (long long)(month % 12 + 1));
  if (n != 7 || (size_t)n >= cap) return -1;
  memcpy(buf, tmp, 8);
  return 0;
}

int64_t imx_period_parse(const imx_market *m, const char *label) {
  IMX_ASSERT(m != NULL);
  if (label == NULL || label[0] == '\0') return -1;
  if (m->first_month == 0) {
    /* numbered: 1..IMX_PERIOD_NUMBER_MAX, digits only, no leading zero */
    if (label[0] == '0' || strlen(label) > 9) return -1;
    int64_t n = 0;
    for (const char *p = label; *p; p++) {
      if (*p < '0' || *p > '9') return -1;
      n = n * 10 + (*p - '0');
    }
    return n;
  }
  int64_t month = imx_month_parse(label);
  if (month < m->first_month) return -1;
  return month - m->first_month + 1;
}

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int imx_period_last_day(const imx_market *m, int64_t period, char buf[11]) {
  IMX_ASSERT(m != NULL && buf != NULL);
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  buf[0] = '\0';
  if (m->first_month == 0) return 1;
  if (period < 1 || period - 1 > MONTH_LAST - m->first_month) return -1;
  int64_t month = m->first_month + period - 1;
  int y = (int)(month / 12), mo = (int)(month % 12);
  IMX_ASSERT(y >= IMX_PERIOD_YEAR_MIN && y <= IMX_PERIOD_YEAR_MAX);
  int d = days[mo] + (mo == 1 && leap(y));
  char tmp[40];
  int n = snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", y, mo + 1, d);
  IMX_ASSERT(n == 10);
  memcpy(buf, tmp, 11);
  return 0;
}
