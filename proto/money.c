/*
** money.c -- money as people write it: the one conversion between the
** decimal text a person types or reads ("85", "85.50", "85,5") and the
** int64 minor units the protocol, the engine and the ledger keep.
**
** Exact by construction: the text is read digit by digit into an integer
** (no strtod, no double anywhere), every step checked against the caller's
** limit before it is taken, so a value past the limit is refused instead of
** wrapped. The rules, the same for every caller (imx, imxd's messages, the
** exports, imx-sim's reports and its history import):
**
**   - digits, then optionally ONE separator, '.' or ',', and 1..decimals
**     digits: "85", "85.5", "85.50", "85,50", "0.05"; there is no grouping
**     ("1.234,56" and "1,234.56" are refused: two separators), so a comma is
**     always the decimal separator and "1,000" is one, never a thousand;
**   - no sign unless the caller allows one (IMX_MONEY_SIGNED): prices,
**     ceilings and amounts are never negative;
**   - more decimals than the currency has is an error, even when the extra
**     ones are zeros ("85.000" for EUR): a person who typed three decimals
**     meant something the currency cannot hold, or a different currency;
**   - nothing else: no spaces, no "+", no ".5", no "85.", no exponent.
**
** Decimals come from the currency: imx_currency_decimals knows ISO 4217's
** minor units (EUR 2, JPY 0, KWD 3, CLF 4). A market in a currency it does
** not know must say "decimals" in its market file (proto/market.c).
*/
#include <stdio.h>
#include <string.h>

#include "imx_proto.h"

static const uint64_t pow10_u[IMX_DECIMALS_MAX + 1] = {1, 10, 100, 1000, 10000};
_Static_assert(IMX_DECIMALS_MAX == 4, "pow10_u has an entry per decimal");

/* ISO 4217 (the list of 2024, with XCG and ZWG): every active currency code
** and its minor unit, except the funds and metals whose minor unit is "N.A."
** (XAU, XDR, ...), which a market must give "decimals" for. Sorted, so a
** binary search finds a code. */
static const struct iso_currency {
  char code[4];
  unsigned char decimals;
} iso4217[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2},
    {"ARS", 2}, {"AUD", 2}, {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2},
    {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2},
    {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2},
    {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2},
    {"CRC", 2}, {"CUC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0},
    {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2},
    {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2},
    {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2},
    {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2},
    {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0},
    {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0},
    {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2},
    {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2},
    {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2},
    {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MXV", 2}, {"MYR", 2}, {"MZN", 2},
    {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2},
    {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2},
    {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2},
    {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2},
    {"SGD", 2}, {"SHP", 2}, {"SLE", 2}, {"SLL", 2}, {"SOS", 2}, {"SRD", 2},
    {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2},
    {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2},
    {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2},
    {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2},
    {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2},
    {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
    {"ZWL", 2},
};

int imx_currency_decimals(const char *code) {
  IMX_ASSERT(code != NULL);
  size_t lo = 0, hi = sizeof iso4217 / sizeof iso4217[0];
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(iso4217[mid].code, code);
    if (c == 0) {
      IMX_ASSERT(iso4217[mid].decimals <= IMX_DECIMALS_MAX);
      return iso4217[mid].decimals;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Appends digit d to *v (a magnitude), or -1 when that passes max. */
static int push_digit(uint64_t *v, unsigned d, uint64_t max) {
  if (d > max || *v > (max - d) / 10) return -1;
  *v = *v * 10 + d;
  return 0;
}

int imx_money_parse(const char *text, int decimals, unsigned flags,
                    int64_t max_minor, int64_t *out_minor, imx_proto_error *err) {
  IMX_ASSERT(text != NULL && out_minor != NULL && err != NULL);
  IMX_ASSERT(decimals >= 0 && decimals <= IMX_DECIMALS_MAX && max_minor >= 0);
  const char *p = text;
  int negative = 0;
  if (*p == '-') {
    if (!(flags & IMX_MONEY_SIGNED))
      return imx_proto_fail(err, "bad_field", "", "must not be negative");
    negative = 1;
    p++;
  }
  size_t whole = 0;
  while (is_digit(p[whole])) whole++;
  const char *sep = p + whole;
  size_t places = 0;
  if (*sep == '.' || *sep == ',')
    while (is_digit(sep[1 + places])) places++;
  int well_formed = whole > 0 && (*sep == '\0' || ((*sep == '.' || *sep == ',') &&
                                                    places > 0 && sep[1 + places] == '\0'));
  if (!well_formed)
    return imx_proto_fail(err, "bad_field", "",
                          *text == '\0' ? "empty: give an amount such as 85.50"
                                        : "not an amount: digits with at most one "
                                          "'.' or ',' (85, 85.50, 85,50)");
  if (places > (size_t)decimals)
    return imx_proto_fail(err, "bad_field", "",
                          decimals == 0 ? "has decimals, but the currency has none"
                                        : "has more decimals than the currency has");
  uint64_t v = 0, max = (uint64_t)max_minor;
  for (size_t i = 0; i < whole; i++)
    if (push_digit(&v, (unsigned)(p[i] - '0'), max)) goto too_large;
  for (size_t i = 0; i < (size_t)decimals; i++)
    if (push_digit(&v, i < places ? (unsigned)(sep[1 + i] - '0') : 0, max))
      goto too_large;
  IMX_ASSERT(v <= max);
  *out_minor = negative ? -(int64_t)v : (int64_t)v;
  return 0;
too_large:
  return imx_proto_fail(err, "bad_field", "", "larger than the limit");
}

const char *imx_money_format(int64_t minor, int decimals, unsigned flags,
                             char buf[IMX_MONEY_TEXT_BYTES]) {
  IMX_ASSERT(buf != NULL && decimals >= 0 && decimals <= IMX_DECIMALS_MAX);
  uint64_t m = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
  uint64_t scale = pow10_u[decimals];
  const char *sign = minor < 0 ? "-" : minor > 0 && (flags & IMX_MONEY_PLUS) ? "+" : "";
  int n;
  if (decimals == 0)
    n = snprintf(buf, IMX_MONEY_TEXT_BYTES, "%s%llu", sign, (unsigned long long)m);
  else
    n = snprintf(buf, IMX_MONEY_TEXT_BYTES, "%s%llu%c%0*llu", sign,
                 (unsigned long long)(m / scale), flags & IMX_MONEY_COMMA ? ',' : '.',
                 decimals, (unsigned long long)(m % scale));
  /* 20 digits, a sign, a separator and the NUL always fit. */
  IMX_ASSERT(n > 0 && n < IMX_MONEY_TEXT_BYTES);
  return buf;
}
