/* The first stage of semantic search over the passages' codes (`d5e_daemon/search/passages.py`,
 * `PassageIndex.nearest` on an index of codes), in C: the Hamming distance of every code to the
 * query's, the nearest by it (`nearest_codes`), and the codes' estimate of the similarity of
 * those (`estimates`). numpy took ~7 ms for 257,000 codes (six passes of XOR, popcount and
 * add, each over fresh arrays, a histogram and two more passes to select), this one pass.
 *
 * It gives exactly what the numpy functions give: the same positions in the same order, and
 * the same float32 sums (numpy adds a row of 48 floats pairwise: eight running sums, then
 * combined two by two; done here in that order). tests/test_passages.py compares the two.
 *
 * The codes are `PassageIndex.rows`: 6 arrays of n 64-bit words, one after the other (word w of
 * passage i at w * n + i); bit i of byte j of a passage's 48 bytes is dimension 8j + i.
 * Both functions run without Python's lock.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WORDS 6
#define BYTES (WORDS * 8)
#define MAX_DISTANCE (WORDS * 64)
#define AHEAD 8 /* codes prefetched ahead by `estimates` */

/* Each code's Hamming distance to `q` into `far`, and how many codes are at each distance. */
#define DISTANCES_BODY                                                                        \
    for (Py_ssize_t i = 0; i < n; i++) {                                                      \
        unsigned d = 0;                                                                       \
        for (int k = 0; k < WORDS; k++)                                                       \
            d += (unsigned)__builtin_popcountll(w[k * n + i] ^ q[k]);                         \
        far[i] = (uint16_t)d;                                                                 \
        count[d]++;                                                                           \
    }

static void
distances(const uint64_t *w, Py_ssize_t n, const uint64_t *q, uint16_t *far, Py_ssize_t *count)
{
    DISTANCES_BODY
}

#if defined(__GNUC__) && defined(__x86_64__)
/* The same with the CPU's popcnt instruction (x86-64 has it since 2008, but the default target
 * does not assume it: without, each count is a call, 3x slower). */
__attribute__((target("popcnt"))) static void
distances_popcnt(const uint64_t *w, Py_ssize_t n, const uint64_t *q, uint16_t *far,
                 Py_ssize_t *count)
{
    DISTANCES_BODY
}
#endif

/* nearest(words, code, wanted) -> bytes: `wanted` int64 positions (of n = len(words) / 48):
 * those whose Hamming distance to `code` is below the cut distance, in order, then those at it,
 * in order, as many as are still wanted (`passages.nearest_codes`). The cut: the least distance
 * at which `wanted` codes are at it or nearer; when more are wanted than there are, every
 * position in order. */
static PyObject *
nearest(PyObject *self, PyObject *args)
{
    Py_buffer words, code;
    Py_ssize_t wanted;
    if (!PyArg_ParseTuple(args, "y*y*n", &words, &code, &wanted))
        return NULL;
    PyObject *out = NULL;
    Py_ssize_t n = words.len / BYTES;
    if (words.len % BYTES || code.len != BYTES || wanted < 0) {
        PyErr_SetString(PyExc_ValueError, "codes of 48 bytes, a code of 48, wanted >= 0");
        goto done;
    }
    int all = wanted > n;
    if (all)
        wanted = n;
    uint16_t *far = malloc((size_t)(n ? n : 1) * sizeof *far);
    out = PyBytes_FromStringAndSize(NULL, wanted * (Py_ssize_t)sizeof(int64_t));
    if (far == NULL || out == NULL) {
        free(far);
        Py_CLEAR(out);
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }
    int64_t *chosen = (int64_t *)PyBytes_AS_STRING(out);
    const uint64_t *w = words.buf;
    uint64_t q[WORDS];
    memcpy(q, code.buf, sizeof q);
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t count[MAX_DISTANCE + 1] = {0};
#if defined(__GNUC__) && defined(__x86_64__)
    if (__builtin_cpu_supports("popcnt"))
        distances_popcnt(w, n, q, far, count);
    else
#endif
        distances(w, n, q, far, count);
    unsigned cut = 0;
    Py_ssize_t below = 0;
    if (all) {
        cut = MAX_DISTANCE + 1;
        below = n;
    }
    while (!all && cut < MAX_DISTANCE && below + count[cut] < wanted)
        below += count[cut++];
    Py_ssize_t at = 0, equal = below;
    for (Py_ssize_t i = 0; i < n && (at < below || equal < wanted); i++) {
        if (far[i] < cut)
            chosen[at++] = i;
        else if (far[i] == cut && equal < wanted)
            chosen[equal++] = i;
    }
    Py_END_ALLOW_THREADS
    free(far);
done:
    PyBuffer_Release(&words);
    PyBuffer_Release(&code);
    return out;
}

/* estimates(words, positions, table) -> bytes: float32 `<query, s>` of the codes at `positions`
 * (int64), from `table` (float32 [48, 256]: byte j's share for each of its values), each the
 * sum of its 48 bytes' shares as numpy's `sum(axis=1)` adds them (`passages.estimates`). */
static PyObject *
estimates(PyObject *self, PyObject *args)
{
    Py_buffer words, positions, table;
    if (!PyArg_ParseTuple(args, "y*y*y*", &words, &positions, &table))
        return NULL;
    PyObject *out = NULL;
    Py_ssize_t n = words.len / BYTES, m = positions.len / (Py_ssize_t)sizeof(int64_t);
    const int64_t *at = positions.buf;
    int bad = words.len % BYTES || positions.len % sizeof(int64_t) ||
              table.len != BYTES * 256 * (Py_ssize_t)sizeof(float);
    for (Py_ssize_t i = 0; !bad && i < m; i++)
        bad = at[i] < 0 || at[i] >= n;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "codes of 48 bytes, positions among them, a 48 x 256 table");
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, m * (Py_ssize_t)sizeof(float));
    if (out == NULL)
        goto done;
    float *sums = (float *)PyBytes_AS_STRING(out);
    const uint64_t *w = words.buf;
    const float *t = table.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < m; i++) {
        if (i + AHEAD < m) /* the codes are read at random: ask for the next ones early */
            for (int k = 0; k < WORDS; k++)
                __builtin_prefetch(&w[k * n + at[i + AHEAD]]);
        float share[BYTES];
        for (int k = 0; k < WORDS; k++) {
            uint64_t word = w[k * n + at[i]];
            for (int b = 0; b < 8; b++)
                share[k * 8 + b] = t[(k * 8 + b) * 256 + ((word >> (8 * b)) & 0xff)];
        }
        /* numpy's pairwise sum of 48 (8 <= n <= 128): eight running sums, combined in pairs */
        float r[8];
        for (int k = 0; k < 8; k++)
            r[k] = share[k];
        for (int j = 8; j < BYTES; j += 8)
            for (int k = 0; k < 8; k++)
                r[k] += share[j + k];
        sums[i] = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    }
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&words);
    PyBuffer_Release(&positions);
    PyBuffer_Release(&table);
    return out;
}

/* dots(rows, positions, query) -> bytes: float32 dot products of `query` (384 float32) with the
 * rows at `positions` (int64) of `rows` (float32 [n, 384]), each summed in float32 in the order
 * of its elements, every product rounded to float32 before it is added: as sqlite-vec's
 * `vec_distance_cosine` sums, and as `retrieval._sums_in_order` does with numpy (the products'
 * rounding kept: no fused multiply-add). Four rows at a time, each its own sum. Without Python's
 * lock. */
#define DIM 384
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
static void
dot_rows(const float *rows, const int64_t *at, Py_ssize_t m, const float *q, float *out)
{
    Py_ssize_t i = 0;
    for (; i + 4 <= m; i += 4) {
        const float *a = rows + at[i] * DIM, *b = rows + at[i + 1] * DIM;
        const float *c = rows + at[i + 2] * DIM, *d = rows + at[i + 3] * DIM;
        float sa = a[0] * q[0], sb = b[0] * q[0], sc = c[0] * q[0], sd = d[0] * q[0];
        for (int k = 1; k < DIM; k++) {
            float pa = a[k] * q[k], pb = b[k] * q[k], pc = c[k] * q[k], pd = d[k] * q[k];
            sa += pa;
            sb += pb;
            sc += pc;
            sd += pd;
        }
        out[i] = sa;
        out[i + 1] = sb;
        out[i + 2] = sc;
        out[i + 3] = sd;
    }
    for (; i < m; i++) {
        const float *a = rows + at[i] * DIM;
        float s = a[0] * q[0];
        for (int k = 1; k < DIM; k++) {
            float p = a[k] * q[k];
            s += p;
        }
        out[i] = s;
    }
}

static PyObject *
dots(PyObject *self, PyObject *args)
{
    Py_buffer rows, positions, query;
    if (!PyArg_ParseTuple(args, "y*y*y*", &rows, &positions, &query))
        return NULL;
    PyObject *out = NULL;
    Py_ssize_t row = DIM * (Py_ssize_t)sizeof(float);
    Py_ssize_t n = rows.len / row, m = positions.len / (Py_ssize_t)sizeof(int64_t);
    const int64_t *at = positions.buf;
    int bad = rows.len % row || positions.len % sizeof(int64_t) || query.len != row;
    for (Py_ssize_t i = 0; !bad && i < m; i++)
        bad = at[i] < 0 || at[i] >= n;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "rows of 384 float32, positions among them, a query of 384");
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, m * (Py_ssize_t)sizeof(float));
    if (out == NULL)
        goto done;
    float *sums = (float *)PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    dot_rows(rows.buf, at, m, query.buf, sums);
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&rows);
    PyBuffer_Release(&positions);
    PyBuffer_Release(&query);
    return out;
}

static PyMethodDef methods[] = {
    {"nearest", nearest, METH_VARARGS, "Positions of the codes nearest by Hamming distance."},
    {"estimates", estimates, METH_VARARGS, "The codes' estimates of the similarity."},
    {"dots", dots, METH_VARARGS, "Dot products of float32 rows with a query, summed in order."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_codes_native",
    "The codes' first stage of semantic search: see d5e_daemon/search/passages.py.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__codes_native(void)
{
    return PyModule_Create(&module);
}
