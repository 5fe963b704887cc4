/* linfit.c — ridge least squares by the normal equations (include/ctcd/search.h). The
 * systems here have a handful of columns (latency and reward features), so forming XᵀX in
 * double and eliminating with partial pivoting is exact enough and needs no LAPACK. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/search.h"

#define MAX_P 16

ctcd_status ctcd_lstsq(const double *X, const double *y, int n, int p, double lambda, int skip,
                       double *w) {
    if (p < 1 || p > MAX_P || n < 1)
        return CTCD_ERR(CTCD_E_INVALID, "lstsq: need 1..%d columns and rows (got %d x %d)", MAX_P,
                        n, p);
    double A[MAX_P][MAX_P + 1]; /* [XᵀX + λD | Xᵀy] */
    memset(A, 0, sizeof A);
    for (int i = 0; i < n; i++) {
        const double *x = X + (size_t)i * p;
        for (int a = 0; a < p; a++) {
            for (int b = 0; b < p; b++) A[a][b] += x[a] * x[b];
            A[a][p] += x[a] * y[i];
        }
    }
    double scale = 0;
    for (int a = 0; a < p; a++) scale = fmax(scale, fabs(A[a][a]));
    for (int a = skip; a < p; a++) A[a][a] += lambda;
    for (int c = 0; c < p; c++) {
        int piv = c;
        for (int r = c + 1; r < p; r++)
            if (fabs(A[r][c]) > fabs(A[piv][c])) piv = r;
        if (fabs(A[piv][c]) <= 1e-12 * (scale > 0 ? scale : 1))
            return CTCD_ERR(CTCD_E_INVALID,
                            "lstsq: singular system (column %d is a combination of the others; "
                            "%d rows for %d columns)", c, n, p);
        if (piv != c)
            for (int k = 0; k <= p; k++) {
                const double t = A[c][k];
                A[c][k] = A[piv][k];
                A[piv][k] = t;
            }
        for (int r = 0; r < p; r++) {
            if (r == c) continue;
            const double f = A[r][c] / A[c][c];
            for (int k = c; k <= p; k++) A[r][k] -= f * A[c][k];
        }
    }
    for (int a = 0; a < p; a++) w[a] = A[a][p] / A[a][a];
    return CTCD_OK;
}
