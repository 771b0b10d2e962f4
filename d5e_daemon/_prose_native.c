/* The native first reading of prose (`d5e_daemon/prose.py`): the block walk of a document's
 * lines and the scan of each new ASCII line for emphases and counts, in C.
 *
 * It finds exactly what the Python reader finds: every rule here is a transcription of a
 * pattern or a step of `prose.py` (named beside it), and the tests compare the two on random
 * text. What a name means is never decided here: each way of writing one is looked up in the
 * memo dictionaries of `ProseNames` (`_emphases`, `_after_count`, `_spans_named`), and on a miss
 * the Python method that fills them is called. A line that holds a character above U+007F (or
 * a newline of its own) is not read here: it is put in `pending`, for the Python reader.
 *
 * Columns are code points: an ASCII line has one byte a code point.
 */
#define _GNU_SOURCE /* memmem */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* ---- ASCII character classes (what Python's `re` classes are on ASCII text) ------------ */

#define C_WORD 1   /* \w: [A-Za-z0-9_] */
#define C_SPACE 2  /* \s: \t \n \v \f \r \x1c-\x1f and the space */
#define C_ALPHA 4  /* [^\W\d_]: [A-Za-z] */
#define C_DIGIT 8  /* \d: [0-9] */
#define C_NOCOUNT 16 /* [\w.,/+\-]: what may not come before a count */
#define C_BLANK 32 /* [ \t] */

static unsigned char cls[256];

static void
init_classes(void)
{
    for (int c = 0; c < 256; c++) {
        unsigned char k = 0;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
            k |= C_ALPHA | C_WORD | C_NOCOUNT;
        if (c >= '0' && c <= '9')
            k |= C_DIGIT | C_WORD | C_NOCOUNT;
        if (c == '_')
            k |= C_WORD | C_NOCOUNT;
        if (c == '.' || c == ',' || c == '/' || c == '+' || c == '-')
            k |= C_NOCOUNT;
        if ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20))
            k |= C_SPACE;
        if (c == ' ' || c == '\t')
            k |= C_BLANK;
        cls[c] = k;
    }
}

#define IS(c, k) (cls[(unsigned char)(c)] & (k))
#define IS_ALNUM(c) (IS(c, C_ALPHA | C_DIGIT))

/* ---- spans blanked (`prose._blank_spans`): code, tags, HTML, links -------------------- */

/* `_INLINE_CODE`: (`+)(?:(?!\1).)+?\1 */
static void
blank_code(char *b, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    while (i < n) {
        if (b[i] != '`') {
            const char *next = memchr(b + i, '`', n - i);
            if (next == NULL)
                return;
            i = next - b;
            continue;
        }
        Py_ssize_t run = 0;
        while (i + run < n && b[i + run] == '`')
            run++;
        Py_ssize_t end = -1;
        for (Py_ssize_t k = run; k >= 1 && end < 0; k--) {
            /* the first place at or after i + k where k backticks begin */
            Py_ssize_t p = i + k, q = -1;
            while (p < n && b[p] != '\n') { /* `.` reads no newline */
                if (b[p] != '`') {
                    p++;
                    continue;
                }
                Py_ssize_t r = 0;
                while (p + r < n && b[p + r] == '`')
                    r++;
                if (r >= k) {
                    q = p;
                    break;
                }
                p += r;
            }
            if (q > i + k)
                end = q + k;
        }
        if (end < 0) {
            i++;
            continue;
        }
        memset(b + i, ' ', end - i);
        i = end;
    }
}

/* `_TAG`: \{@[^{}\r\n]*\} */
static void
blank_tags(char *b, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    while (i + 1 < n) {
        if (b[i] != '{') {
            const char *next = memchr(b + i, '{', n - i);
            if (next == NULL)
                return;
            i = next - b;
            continue;
        }
        if (b[i + 1] != '@') {
            i++;
            continue;
        }
        Py_ssize_t j = i + 2;
        while (j < n && b[j] != '{' && b[j] != '}' && b[j] != '\r' && b[j] != '\n')
            j++;
        if (j < n && b[j] == '}') {
            memset(b + i, ' ', j + 1 - i);
            i = j + 1;
        }
        else
            i++;
    }
}

/* `_HTML`: <!--.*?-->|</?[A-Za-z][^<>\n]*> */
static void
blank_html(char *b, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    while (i < n) {
        if (b[i] != '<') {
            const char *next = memchr(b + i, '<', n - i);
            if (next == NULL)
                return;
            i = next - b;
            continue;
        }
        Py_ssize_t end = -1;
        if (i + 3 < n && b[i + 1] == '!' && b[i + 2] == '-' && b[i + 3] == '-') {
            for (Py_ssize_t p = i + 4; p + 2 < n && b[p] != '\n'; p++) {
                if (b[p] == '-' && b[p + 1] == '-' && b[p + 2] == '>') {
                    end = p + 3;
                    break;
                }
            }
        }
        if (end < 0) {
            Py_ssize_t j = i + 1;
            if (j < n && b[j] == '/')
                j++;
            if (j < n && IS(b[j], C_ALPHA)) {
                j++;
                while (j < n && b[j] != '<' && b[j] != '>' && b[j] != '\n')
                    j++;
                if (j < n && b[j] == '>')
                    end = j + 1;
            }
        }
        if (end < 0) {
            i++;
            continue;
        }
        memset(b + i, ' ', end - i);
        i = end;
    }
}

/* The end of `_LINK` matched at i, or -1. */
static Py_ssize_t
link_at(const char *b, Py_ssize_t n, Py_ssize_t i)
{
    char c = b[i];
    if (c == '!' || c == '[') {
        Py_ssize_t p = c == '!' ? i + 1 : i;
        if (p >= n || b[p] != '[')
            return -1;
        /* !?\[\[[^\[\]\n]*\]\] (no `[` inside: `[` x 100,000 was scanned from each `[[`) */
        if (p + 1 < n && b[p + 1] == '[') {
            Py_ssize_t j = p + 2;
            while (j < n && b[j] != '[' && b[j] != ']' && b[j] != '\n')
                j++;
            if (j + 1 < n && b[j] == ']' && b[j + 1] == ']')
                return j + 2;
        }
        /* !?\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\] then an optional (url) or [ref] */
        Py_ssize_t j = p + 1;
        for (;;) {
            if (j >= n || b[j] == '\n')
                return -1;
            if (b[j] == ']')
                break;
            if (b[j] == '[') {
                Py_ssize_t k = j + 1;
                while (k < n && b[k] != '[' && b[k] != ']' && b[k] != '\n')
                    k++;
                if (k < n && b[k] == ']') {
                    j = k + 1;
                    continue;
                }
                return -1;
            }
            j++;
        }
        j++;
        if (j < n && b[j] == '(') {
            /* \([^()\n]*(?:\([^()\n]*\)[^()\n]*)*\) */
            Py_ssize_t k = j + 1;
            for (;;) {
                while (k < n && b[k] != '(' && b[k] != ')' && b[k] != '\n')
                    k++;
                if (k < n && b[k] == ')')
                    return k + 1;
                if (k < n && b[k] == '(') {
                    Py_ssize_t m = k + 1;
                    while (m < n && b[m] != '(' && b[m] != ')' && b[m] != '\n')
                        m++;
                    if (m < n && b[m] == ')') {
                        k = m + 1;
                        continue;
                    }
                }
                break;
            }
        }
        if (j < n && b[j] == '[') {
            Py_ssize_t k = j + 1;
            while (k < n && b[k] != '[' && b[k] != ']' && b[k] != '\n')
                k++;
            if (k < n && b[k] == ']')
                return k + 1;
        }
        return j;
    }
    if (c == '<') {
        /* <[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>]*> */
        Py_ssize_t j = i + 1;
        if (j >= n || !IS(b[j], C_ALPHA))
            return -1;
        j++;
        while (j < n && (IS_ALNUM(b[j]) || b[j] == '+' || b[j] == '.' || b[j] == '-'))
            j++;
        if (j >= n || b[j] != ':')
            return -1;
        j++;
        while (j < n && !IS(b[j], C_SPACE) && b[j] != '<' && b[j] != '>')
            j++;
        return j < n && b[j] == '>' ? j + 1 : -1;
    }
    if (c == 'h') {
        /* https?://[^\s<>()]+ */
        Py_ssize_t j;
        if (i + 8 <= n && memcmp(b + i, "https://", 8) == 0)
            j = i + 8;
        else if (i + 7 <= n && memcmp(b + i, "http://", 7) == 0)
            j = i + 7;
        else
            return -1;
        Py_ssize_t k = j;
        while (k < n && !IS(b[k], C_SPACE) && b[k] != '<' && b[k] != '>' && b[k] != '(' &&
               b[k] != ')')
            k++;
        return k > j ? k : -1;
    }
    return -1;
}

static void
blank_links(char *b, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    while (i < n) {
        char c = b[i];
        if (c != '!' && c != '[' && c != '<' && c != 'h') {
            i++;
            continue;
        }
        Py_ssize_t end = link_at(b, n, i);
        if (end < 0) {
            i++;
            continue;
        }
        memset(b + i, ' ', end - i);
        i = end;
    }
}

static void
blank_spans(char *b, Py_ssize_t n)
{
    if (n <= 0)
        return;
    if (memchr(b, '`', n))
        blank_code(b, n);
    if (memchr(b, '{', n))
        blank_tags(b, n);
    if (memchr(b, '<', n))
        blank_html(b, n);
    if (memchr(b, '[', n) || memchr(b, '<', n) || memmem(b, n, "://", 3))
        blank_links(b, n);
}

/* ---- counts (`prose._COUNT_WITH_WORD`, `prose.count_before`) -------------------------- */

static const char *const NUMBER_WORDS[] = {
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "a dozen", "a pair of", NULL,
};
static const int NUMBER_VALUES[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 12, 2};
static unsigned short words_from[256]; /* a letter -> the number words it begins (bits) */

static void
init_words(void)
{
    for (int w = 0; NUMBER_WORDS[w]; w++) {
        unsigned char c = (unsigned char)NUMBER_WORDS[w][0];
        words_from[c] |= 1 << w;
        words_from[c - 32] |= 1 << w;
    }
}
#define MAX_COUNT_DIGITS 9

static int
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* The end of number word `w` matched at i (its spaces any \s+), or -1. */
static Py_ssize_t
word_at(const char *b, Py_ssize_t n, Py_ssize_t i, const char *w)
{
    Py_ssize_t j = i;
    for (; *w; w++) {
        if (*w == ' ') {
            if (j >= n || !IS(b[j], C_SPACE))
                return -1;
            while (j < n && IS(b[j], C_SPACE))
                j++;
            continue;
        }
        if (j >= n || lower(b[j]) != *w)
            return -1;
        j++;
    }
    return j;
}

/* The start of number word `w` matched backwards ending at q (inclusive), or -1. */
static Py_ssize_t
word_before(const char *b, Py_ssize_t q, const char *w)
{
    Py_ssize_t j = q, k = (Py_ssize_t)strlen(w) - 1;
    for (; k >= 0; k--) {
        if (w[k] == ' ') {
            if (j < 0 || !IS(b[j], C_SPACE))
                return -1;
            while (j >= 0 && IS(b[j], C_SPACE))
                j--;
            continue;
        }
        if (j < 0 || lower(b[j]) != w[k])
            return -1;
        j--;
    }
    return j + 1;
}

/* A text above U+007F is read as bytes where each of its characters that no pattern tells
 * from another (punctuation: not a letter, digit or space, not × or ’) is MARK_OTHER and ’ is
 * MARK_QUOTE (a word may hold it, as '): the same columns. A str made of a part that holds
 * them takes its characters from the text itself (`text_str`). */
#define MARK_OTHER 1
#define MARK_QUOTE 2

/* The end of `_WORD` ([^\W_][\w'’]*(?:-[^\W_][\w'’]*)*) at i, which is alphanumeric. */
static Py_ssize_t
word_end(const char *b, Py_ssize_t n, Py_ssize_t i)
{
    Py_ssize_t j = i + 1;
    for (;;) {
        while (j < n && (IS(b[j], C_WORD) || b[j] == '\'' || b[j] == MARK_QUOTE))
            j++;
        if (j + 1 < n && b[j] == '-' && IS_ALNUM(b[j + 1])) {
            j += 2;
            continue;
        }
        return j;
    }
}

/* After a count ending at p: (?:[ \t]*[x×])?[ \t]+(?=[^\W\d_]): where the word begins, or -1. */
static Py_ssize_t
count_tail(const char *b, Py_ssize_t n, Py_ssize_t p)
{
    Py_ssize_t q = p;
    while (q < n && IS(b[q], C_BLANK))
        q++;
    if (q < n && (b[q] == 'x' || b[q] == 'X')) {
        Py_ssize_t s = q + 1;
        while (s < n && IS(b[s], C_BLANK))
            s++;
        if (s > q + 1 && s < n && IS(b[s], C_ALPHA))
            return s;
    }
    if (q > p && q < n && IS(b[q], C_ALPHA))
        return q;
    return -1;
}

/* Whether a count in digits may begin at i after a [\w.,/+-]: it is the last number of a range
 * or a roll ("6-8", "1d4+1", "2d6": `prose._AFTER_ROLL`). */
static int
after_roll(const char *b, Py_ssize_t i)
{
    if (i < 2 || !IS(b[i], C_DIGIT) || !IS(b[i - 2], C_DIGIT))
        return 0;
    char c = b[i - 1];
    return c == '-' || c == '+' || c == 'd' || c == 'D';
}

/* `count_before`: the count written just before column `start` (value, column), 0 if none. */
static int
count_before(const char *b, Py_ssize_t start, long *value, Py_ssize_t *column)
{
    if (start < 2 || !IS(b[start - 1], C_BLANK))
        return 0;
    Py_ssize_t last = start - 2;
    while (last > 0 && IS(b[last], C_BLANK))
        last--;
    char lc = lower(b[last]);
    if (!(IS(b[last], C_DIGIT) || lc == 'e' || lc == 'o' || lc == 'r' || lc == 'x' ||
          lc == 'n' || lc == 't' || lc == 'f'))
        return 0;
    Py_ssize_t p = start - 1;
    while (p >= 0 && IS(b[p], C_BLANK))
        p--;
    Py_ssize_t ends[2];
    int tries = 0;
    if (p >= 0 && (b[p] == 'x' || b[p] == 'X')) {
        Py_ssize_t q = p - 1;
        while (q >= 0 && IS(b[q], C_BLANK))
            q--;
        ends[tries++] = q;
    }
    ends[tries++] = p;
    for (int t = 0; t < tries; t++) {
        Py_ssize_t q = ends[t];
        if (q < 0)
            continue;
        if (IS(b[q], C_DIGIT)) {
            Py_ssize_t s = q;
            while (s >= 0 && IS(b[s], C_DIGIT))
                s--;
            Py_ssize_t len = q - s;
            if (len <= MAX_COUNT_DIGITS &&
                (s < 0 || !IS(b[s], C_NOCOUNT) || after_roll(b, s + 1))) {
                long v = 0;
                for (Py_ssize_t k = s + 1; k <= q; k++)
                    v = v * 10 + (b[k] - '0');
                *value = v;
                *column = s + 1;
                return 1;
            }
            continue;
        }
        for (int w = 0; NUMBER_WORDS[w]; w++) {
            Py_ssize_t s = word_before(b, q, NUMBER_WORDS[w]);
            if (s >= 0 && (s == 0 || !IS(b[s - 1], C_NOCOUNT))) {
                *value = NUMBER_VALUES[w];
                *column = s;
                return 1;
            }
        }
    }
    return 0;
}

/* ---- what names mean: the memo dictionaries of `ProseNames` ------------------------------ */

/* What the dictionaries answered, by the bytes of the key (`ProseNames._native_memo`, one
 * per ProseNames: a key means the same as long as it lives): a dictionary's key is a new str
 * to make, hash and free at each lookup; this is a hash of the bytes already at hand. */
typedef struct {
    char *key; /* NULL: an empty slot */
    Py_ssize_t len;
    uint64_t hash;
    PyObject *value;
} Slot;

typedef struct {
    Slot *slots;
    Py_ssize_t cap, used, most;
} Memo;

#define MEMO_NAME "d5e_daemon._prose_native.Memo"

static uint64_t
memo_hash(char kind, const char *s, Py_ssize_t n)
{
    uint64_t h = 1469598103934665603ULL ^ (unsigned char)kind;
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

static void
memo_clear(Memo *m)
{
    for (Py_ssize_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key != NULL) {
            PyMem_Free(m->slots[i].key);
            Py_DECREF(m->slots[i].value);
            m->slots[i].key = NULL;
        }
    }
    m->used = 0;
}

/* The value kept for the key (a new reference), or NULL (none kept; never an error). The key
 * holds its kind as its first byte (`memo_hash`'s kind): kinds never meet. */
static PyObject *
memo_get(Memo *m, char kind, const char *s, Py_ssize_t n, uint64_t h)
{
    if (m == NULL || m->cap == 0)
        return NULL;
    for (Py_ssize_t i = (Py_ssize_t)(h & (uint64_t)(m->cap - 1));; i = (i + 1) & (m->cap - 1)) {
        Slot *slot = &m->slots[i];
        if (slot->key == NULL)
            return NULL;
        if (slot->hash == h && slot->len == n + 1 && slot->key[0] == kind &&
            memcmp(slot->key + 1, s, n) == 0) {
            Py_INCREF(slot->value);
            return slot->value;
        }
    }
}

static int
memo_put(Memo *m, char kind, const char *s, Py_ssize_t n, uint64_t h, PyObject *value)
{
    if (m == NULL)
        return 0;
    if (m->used >= m->most)
        memo_clear(m); /* bounded, as the dictionaries are (LINE_CACHE) */
    if (2 * (m->used + 1) > m->cap) {
        Py_ssize_t cap = m->cap ? 2 * m->cap : 1024;
        Slot *slots = PyMem_Calloc(cap, sizeof(Slot));
        if (slots == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < m->cap; i++) {
            Slot *old = &m->slots[i];
            if (old->key == NULL)
                continue;
            Py_ssize_t k = (Py_ssize_t)(old->hash & (uint64_t)(cap - 1));
            while (slots[k].key != NULL)
                k = (k + 1) & (cap - 1);
            slots[k] = *old;
        }
        PyMem_Free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    char *key = PyMem_Malloc(n + 1);
    if (key == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    key[0] = kind;
    memcpy(key + 1, s, n);
    Py_ssize_t i = (Py_ssize_t)(h & (uint64_t)(m->cap - 1));
    while (m->slots[i].key != NULL)
        i = (i + 1) & (m->cap - 1);
    m->slots[i].key = key;
    m->slots[i].len = n + 1;
    m->slots[i].hash = h;
    Py_INCREF(value);
    m->slots[i].value = value;
    m->used++;
    return 0;
}

static void
memo_destroy(PyObject *capsule)
{
    Memo *m = PyCapsule_GetPointer(capsule, MEMO_NAME);
    if (m == NULL)
        return;
    memo_clear(m);
    PyMem_Free(m->slots);
    PyMem_Free(m);
}

/* memo(most) -> a new Memo for one ProseNames, keeping at most `most` answers. */
static PyObject *
new_memo(PyObject *self, PyObject *args)
{
    Py_ssize_t most;
    if (!PyArg_ParseTuple(args, "n", &most))
        return NULL;
    Memo *m = PyMem_Calloc(1, sizeof(Memo));
    if (m == NULL)
        return PyErr_NoMemory();
    m->most = most;
    PyObject *capsule = PyCapsule_New(m, MEMO_NAME, memo_destroy);
    if (capsule == NULL)
        PyMem_Free(m);
    return capsule;
}

typedef struct {
    PyObject *known;        /* ProseNames._lines: text -> references */
    PyObject *emphases;     /* ProseNames._emphases */
    PyObject *after_count;  /* ProseNames._after_count */
    PyObject *spans_named;  /* ProseNames._spans_named */
    PyObject *count_values; /* prose._COUNT_VALUES */
    PyObject *emphasis;     /* ProseNames.emphasis(written, markers, inner) */
    PyObject *after_count_of; /* ProseNames.after_count(word) */
    PyObject *named_span;   /* ProseNames.named_span(span, most) */
    PyObject *count_value;  /* prose._count_value(text) */
    PyTypeObject *ref_type; /* ProseRef */
    PyObject *count_style;  /* "count" */
    Py_ssize_t longest;     /* ProseNames.longest_creature */
    Py_ssize_t line_cache;  /* prose.LINE_CACHE */
    Memo *memo;             /* ProseNames' Memo */
    PyObject *text;         /* the text read, when it is above U+007F (its marks: MARK_OTHER) */
    PyObject *goes_on;      /* ProseNames.goes_on(name, next word, count) */
} Names;

static int
unpack_names(PyObject *t, Names *nm)
{
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 15) {
        PyErr_SetString(PyExc_TypeError, "the names' table: a tuple of 15");
        return -1;
    }
    nm->known = PyTuple_GET_ITEM(t, 0);
    nm->emphases = PyTuple_GET_ITEM(t, 1);
    nm->after_count = PyTuple_GET_ITEM(t, 2);
    nm->spans_named = PyTuple_GET_ITEM(t, 3);
    nm->count_values = PyTuple_GET_ITEM(t, 4);
    nm->emphasis = PyTuple_GET_ITEM(t, 5);
    nm->after_count_of = PyTuple_GET_ITEM(t, 6);
    nm->named_span = PyTuple_GET_ITEM(t, 7);
    nm->count_value = PyTuple_GET_ITEM(t, 8);
    nm->ref_type = (PyTypeObject *)PyTuple_GET_ITEM(t, 9);
    nm->count_style = PyTuple_GET_ITEM(t, 10);
    nm->longest = PyLong_AsSsize_t(PyTuple_GET_ITEM(t, 11));
    nm->line_cache = PyLong_AsSsize_t(PyTuple_GET_ITEM(t, 12));
    nm->goes_on = PyTuple_GET_ITEM(t, 14);
    if (PyErr_Occurred())
        return -1;
    nm->text = NULL;
    nm->memo = PyCapsule_GetPointer(PyTuple_GET_ITEM(t, 13), MEMO_NAME);
    if (nm->memo == NULL)
        return -1;
    if (!PyDict_Check(nm->known) || !PyDict_Check(nm->emphases) ||
        !PyDict_Check(nm->after_count) || !PyDict_Check(nm->spans_named) ||
        !PyDict_Check(nm->count_values) || !PyType_Check(nm->ref_type) ||
        !PyType_IsSubtype(nm->ref_type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "the names' table: dictionaries and ProseRef");
        return -1;
    }
    return 0;
}

/* d[key] (a new reference), or NULL: missing (no error set: call what fills it) or an error. */
static PyObject *
known_in(PyObject *d, PyObject *key)
{
    PyObject *found = PyDict_GetItemWithError(d, key);
    Py_XINCREF(found);
    return found;
}

static PyObject *
ascii_str(const char *b, Py_ssize_t n)
{
    PyObject *s = PyUnicode_New(n, 127);
    if (s != NULL)
        memcpy(PyUnicode_1BYTE_DATA(s), b, n);
    return s;
}

/* Whether b[from:from+len] holds a mark (a character of the text above U+007F). */
static int
marked(Names *nm, const char *b, Py_ssize_t from, Py_ssize_t len)
{
    return nm->text != NULL &&
           (memchr(b + from, MARK_OTHER, len) != NULL || memchr(b + from, MARK_QUOTE, len) != NULL);
}

/* b[from:from+len] as a str: its marks read back from the text (the same columns). */
static PyObject *
text_str(Names *nm, const char *b, Py_ssize_t from, Py_ssize_t len)
{
    if (!marked(nm, b, from, len))
        return ascii_str(b + from, len);
    Py_UCS4 *chars = PyMem_Malloc((len + 1) * sizeof(Py_UCS4));
    if (chars == NULL)
        return PyErr_NoMemory();
    int kind = PyUnicode_KIND(nm->text);
    const void *data = PyUnicode_DATA(nm->text);
    for (Py_ssize_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)b[from + k];
        chars[k] = c == MARK_OTHER || c == MARK_QUOTE ? PyUnicode_READ(kind, data, from + k) : c;
    }
    PyObject *out = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, chars, len);
    PyMem_Free(chars);
    return out;
}

/* The memo for a key: none for one that holds a mark (marks stand for many characters). */
static Memo *
memo_for(Names *nm, const char *b, Py_ssize_t from, Py_ssize_t len)
{
    return marked(nm, b, from, len) ? NULL : nm->memo;
}

/* A ProseRef at line 0, stealing the references it is given (any NULL: NULL). */
static PyObject *
make_ref(Names *nm, Py_ssize_t start, Py_ssize_t end, PyObject *text, PyObject *style,
         PyObject *entry, PyObject *count, PyObject *count_start)
{
    PyObject *a = PyLong_FromLong(0), *s = PyLong_FromSsize_t(start),
             *e = PyLong_FromSsize_t(end);
    PyObject *items[8] = {a, s, e, text, style, entry, count, count_start};
    PyObject *ref = NULL;
    int ok = 1;
    for (int i = 0; i < 8; i++)
        ok &= items[i] != NULL;
    if (ok)
        ref = nm->ref_type->tp_alloc(nm->ref_type, 8);
    if (ref == NULL) {
        for (int i = 0; i < 8; i++)
            Py_XDECREF(items[i]);
        return NULL;
    }
    for (int i = 0; i < 8; i++)
        PyTuple_SET_ITEM(ref, i, items[i]);
    /* Immutable, and what it holds never holds it: no cycle can pass through it, so the
     * garbage collector need not look at it (thousands per first reading: collections that
     * walked them took a fifth of it). */
    PyObject_GC_UnTrack(ref);
    return ref;
}

typedef struct {
    Py_ssize_t key;
    PyObject *ref;
} Found;

typedef struct {
    Found *items;
    Py_ssize_t len, cap;
} Refs;

static int
refs_add(Refs *r, Py_ssize_t key, PyObject *ref)
{
    if (r->len == r->cap) {
        Py_ssize_t cap = r->cap ? r->cap * 2 : 8;
        Found *items = PyMem_Realloc(r->items, cap * sizeof(Found));
        if (items == NULL) {
            Py_DECREF(ref);
            PyErr_NoMemory();
            return -1;
        }
        r->items = items;
        r->cap = cap;
    }
    r->items[r->len].key = key;
    r->items[r->len].ref = ref;
    r->len++;
    return 0;
}

static void
refs_free(Refs *r)
{
    for (Py_ssize_t i = 0; i < r->len; i++)
        Py_DECREF(r->items[i].ref);
    PyMem_Free(r->items);
}

/* What the count at `at` counts (`prose._counted`): 1 and a reference in *out, 0 for none. */
static int
counted(Names *nm, const char *b, Py_ssize_t n, Py_ssize_t at, Py_ssize_t count_end,
        Py_ssize_t pos, Py_ssize_t end, PyObject **out)
{
    *out = NULL;
    PyObject *word = NULL;
    Memo *memo = memo_for(nm, b, pos, end - pos);
    uint64_t h = memo_hash('a', b + pos, end - pos);
    PyObject *first = memo_get(memo, 'a', b + pos, end - pos, h);
    if (first == NULL) {
        word = text_str(nm, b, pos, end - pos);
        if (word == NULL)
            return -1;
        first = known_in(nm->after_count, word);
        if (first == NULL && !PyErr_Occurred())
            first = PyObject_CallOneArg(nm->after_count_of, word);
        if (first == NULL || memo_put(memo, 'a', b + pos, end - pos, h, first) < 0) {
            Py_XDECREF(first);
            Py_DECREF(word);
            return -1;
        }
    }
    if (!PyTuple_Check(first) || PyTuple_GET_SIZE(first) != 3) {
        Py_DECREF(first);
        Py_DECREF(word);
        PyErr_SetString(PyExc_TypeError, "after_count: a tuple of 3");
        return -1;
    }
    Py_ssize_t most = PyLong_AsSsize_t(PyTuple_GET_ITEM(first, 0));
    Py_ssize_t size = PyLong_AsSsize_t(PyTuple_GET_ITEM(first, 1));
    PyObject *alone = PyTuple_GET_ITEM(first, 2);
    if (PyErr_Occurred()) {
        Py_DECREF(first);
        Py_XDECREF(word);
        return -1;
    }
    if (!most) {
        Py_DECREF(first);
        Py_XDECREF(word);
        return 0;
    }
    /* On ASCII text a name whose first word alone is as long as `most` reads no more words. */
    int final = nm->longest <= 1 || most <= size;
    Py_ssize_t start, stop;
    PyObject *name, *entry;
    if (final) {
        if (alone == Py_None) {
            Py_DECREF(first);
            Py_XDECREF(word);
            return 0;
        }
        if (word == NULL && (word = text_str(nm, b, pos, end - pos)) == NULL) {
            Py_DECREF(first);
            return -1;
        }
        start = pos;
        stop = end;
        name = word;
        entry = alone;
        Py_INCREF(entry);
        Py_DECREF(first);
    }
    else {
        Py_DECREF(first);
        Py_XDECREF(word);
        /* `ProseNames.words_after`: as many words as `most`, each after spaces or tabs */
        Py_ssize_t j = end, words = 1;
        while (words < most) {
            Py_ssize_t k = j;
            while (k < n && IS(b[k], C_BLANK))
                k++;
            if (k == j || k >= n || !IS_ALNUM(b[k]))
                break;
            j = word_end(b, n, k);
            words++;
        }
        Memo *spans = memo_for(nm, b, pos, j - pos);
        uint64_t hs = memo_hash('s', b + pos, j - pos);
        PyObject *known = memo_get(spans, 's', b + pos, j - pos, hs);
        if (known == NULL) {
            PyObject *span = text_str(nm, b, pos, j - pos);
            if (span == NULL)
                return -1;
            known = known_in(nm->spans_named, span);
            if (known == NULL && !PyErr_Occurred()) {
                PyObject *m = PyLong_FromSsize_t(most);
                known = m ? PyObject_CallFunctionObjArgs(nm->named_span, span, m, NULL) : NULL;
                Py_XDECREF(m);
            }
            Py_DECREF(span);
            if (known == NULL || memo_put(spans, 's', b + pos, j - pos, hs, known) < 0) {
                Py_XDECREF(known);
                return -1;
            }
        }
        if (known == Py_None) {
            Py_DECREF(known);
            return 0;
        }
        if (!PyTuple_Check(known) || PyTuple_GET_SIZE(known) != 4) {
            Py_DECREF(known);
            PyErr_SetString(PyExc_TypeError, "named_span: a tuple of 4");
            return -1;
        }
        start = pos + PyLong_AsSsize_t(PyTuple_GET_ITEM(known, 0));
        stop = pos + PyLong_AsSsize_t(PyTuple_GET_ITEM(known, 1));
        name = PyTuple_GET_ITEM(known, 2);
        entry = PyTuple_GET_ITEM(known, 3);
        Py_INCREF(name);
        Py_INCREF(entry);
        Py_DECREF(known);
        if (PyErr_Occurred()) {
            Py_DECREF(name);
            Py_DECREF(entry);
            return -1;
        }
    }
    PyObject *value;
    if (IS(b[at], C_DIGIT)) {
        long v = 0;
        for (Py_ssize_t k = at; k < count_end; k++)
            v = v * 10 + (b[k] - '0');
        value = PyLong_FromLong(v);
    }
    else {
        PyObject *written = text_str(nm, b, at, count_end - at);
        value = written ? known_in(nm->count_values, written) : NULL;
        if (value == NULL && written != NULL && !PyErr_Occurred())
            value = PyObject_CallOneArg(nm->count_value, written);
        Py_XDECREF(written);
    }
    /* `ProseNames.goes_on`: "1 hobgoblin captain" is a creature of its own, no hobgoblin */
    Py_ssize_t k = stop;
    while (k < n && IS(b[k], C_BLANK))
        k++;
    if (value != NULL && k > stop && k < n && IS_ALNUM(b[k])) {
        PyObject *after = text_str(nm, b, k, word_end(b, n, k) - k);
        PyObject *on =
            after ? PyObject_CallFunctionObjArgs(nm->goes_on, name, after, value, NULL) : NULL;
        Py_XDECREF(after);
        int yes = on ? PyObject_IsTrue(on) : -1;
        Py_XDECREF(on);
        if (yes != 0) {
            Py_DECREF(name);
            Py_DECREF(entry);
            Py_DECREF(value);
            return yes < 0 ? -1 : 0;
        }
    }
    Py_INCREF(nm->count_style);
    *out = make_ref(nm, start, stop, name, nm->count_style, entry, value, PyLong_FromSsize_t(at));
    return *out == NULL ? -1 : 1;
}

static int
inside(Py_ssize_t at, const Py_ssize_t *spans, Py_ssize_t count)
{
    for (Py_ssize_t i = 0; i < count; i++)
        if (spans[2 * i] <= at && at < spans[2 * i + 1])
            return 1;
    return 0;
}

static int
overlaps(Py_ssize_t start, Py_ssize_t end, const Py_ssize_t *spans, Py_ssize_t count)
{
    for (Py_ssize_t i = 0; i < count; i++)
        if (spans[2 * i] < end && start < spans[2 * i + 1])
            return 1;
    return 0;
}

/* The references of one ASCII text with its spans blanked (`prose._recognise` of one line):
 * a new tuple, or NULL with an error set. */
static PyObject *
read_blanked(Names *nm, const char *b, Py_ssize_t n)
{
    Refs refs = {NULL, 0, 0};
    Py_ssize_t *taken = NULL, ntaken = 0, captaken = 0;
    int unsorted = 0;
    /* emphases (`_STAR_OR_UNDERSCORE`) */
    Py_ssize_t next_star = -1, next_under = -1; /* the next of each at or after i (n: none) */
    for (Py_ssize_t i = 0; i < n;) {
        char c = b[i];
        if (c != '*' && c != '_') {
            if (next_star < i) {
                const char *p = memchr(b + i, '*', n - i);
                next_star = p ? p - b : n;
            }
            if (next_under < i) {
                const char *p = memchr(b + i, '_', n - i);
                next_under = p ? p - b : n;
            }
            i = next_star < next_under ? next_star : next_under;
            continue;
        }
        Py_ssize_t run = 1;
        while (i + run < n && b[i + run] == c)
            run++;
        if (i > 0 && (b[i - 1] == c || b[i - 1] == '\\' || IS(b[i - 1], C_WORD))) {
            i += run;
            continue;
        }
        Py_ssize_t j = i + run, q = j;
        if (run > 3 || j >= n || IS(b[j], C_SPACE)) {
            i += run;
            continue;
        }
        while (q < n && b[q] != c && b[q] != '\n')
            q++;
        Py_ssize_t close = 0;
        while (q + close < n && b[q + close] == c)
            close++;
        if (q >= n || close != run || IS(b[q - 1], C_SPACE) || b[q - 1] == '\\' ||
            (q + run < n && IS(b[q + run], C_WORD))) {
            i += run;
            continue;
        }
        Py_ssize_t mend = q + run;
        Memo *memo = memo_for(nm, b, i, mend - i);
        uint64_t h = memo_hash('e', b + i, mend - i);
        PyObject *found = memo_get(memo, 'e', b + i, mend - i, h);
        if (found == NULL) {
            PyObject *written = text_str(nm, b, i, mend - i);
            found = written ? known_in(nm->emphases, written) : NULL;
            if (found == NULL && written != NULL && !PyErr_Occurred()) {
                PyObject *inner = text_str(nm, b, j, q - j);
                PyObject *markers = PyLong_FromSsize_t(run);
                if (inner && markers)
                    found =
                        PyObject_CallFunctionObjArgs(nm->emphasis, written, markers, inner, NULL);
                Py_XDECREF(inner);
                Py_XDECREF(markers);
            }
            Py_XDECREF(written);
            if (found != NULL && memo_put(memo, 'e', b + i, mend - i, h, found) < 0)
                Py_CLEAR(found);
        }
        if (found == NULL)
            goto error;
        if (found == Py_None) {
            Py_DECREF(found);
            i = mend;
            continue;
        }
        /* EmphasisName: offset, name, style, entry, count, count_offset, before */
        if (!PyTuple_Check(found) || PyTuple_GET_SIZE(found) != 7) {
            Py_DECREF(found);
            PyErr_SetString(PyExc_TypeError, "emphasis: an EmphasisName");
            goto error;
        }
        Py_ssize_t offset = PyLong_AsSsize_t(PyTuple_GET_ITEM(found, 0));
        PyObject *name = PyTuple_GET_ITEM(found, 1);
        PyObject *count_offset = PyTuple_GET_ITEM(found, 5);
        PyObject *value = PyTuple_GET_ITEM(found, 4), *count_start;
        Py_INCREF(value);
        int before = PyObject_IsTrue(PyTuple_GET_ITEM(found, 6));
        if (before < 0 || PyErr_Occurred() || !PyUnicode_Check(name)) {
            Py_DECREF(value);
            Py_DECREF(found);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "emphasis: a name");
            goto error;
        }
        if (count_offset != Py_None) {
            count_start = PyLong_FromSsize_t(i + PyLong_AsSsize_t(count_offset));
        }
        else {
            long v;
            Py_ssize_t column;
            if (before && count_before(b, i, &v, &column)) {
                Py_DECREF(value);
                value = PyLong_FromLong(v);
                count_start = PyLong_FromSsize_t(column);
            }
            else {
                count_start = Py_None;
                Py_INCREF(Py_None);
            }
        }
        if (before) {
            /* `ProseNames.goes_on`: "a **bandit** captain" is a creature of its own */
            Py_ssize_t k = mend;
            while (k < n && IS(b[k], C_BLANK))
                k++;
            if (k > mend && k < n && IS_ALNUM(b[k])) {
                PyObject *after = text_str(nm, b, k, word_end(b, n, k) - k);
                PyObject *on = after ? PyObject_CallFunctionObjArgs(nm->goes_on, name, after,
                                                                    value, NULL)
                                     : NULL;
                Py_XDECREF(after);
                int yes = on ? PyObject_IsTrue(on) : -1;
                Py_XDECREF(on);
                if (yes != 0) {
                    Py_DECREF(value);
                    Py_DECREF(count_start);
                    Py_DECREF(found);
                    if (yes < 0)
                        goto error;
                    i = mend;
                    continue;
                }
            }
        }
        Py_ssize_t name_start = i + offset;
        PyObject *style = PyTuple_GET_ITEM(found, 2), *entry = PyTuple_GET_ITEM(found, 3);
        Py_INCREF(name);
        Py_INCREF(style);
        Py_INCREF(entry);
        PyObject *ref = make_ref(nm, name_start, name_start + PyUnicode_GET_LENGTH(name), name,
                                 style, entry, value, count_start);
        Py_DECREF(found);
        if (ref == NULL)
            goto error;
        Py_ssize_t key = name_start;
        if (PyTuple_GET_ITEM(ref, 7) != Py_None)
            key = PyLong_AsSsize_t(PyTuple_GET_ITEM(ref, 7));
        if (refs_add(&refs, key, ref) < 0)
            goto error;
        if (ntaken == captaken) {
            captaken = captaken ? captaken * 2 : 8;
            Py_ssize_t *t = PyMem_Realloc(taken, 2 * captaken * sizeof(Py_ssize_t));
            if (t == NULL) {
                PyErr_NoMemory();
                goto error;
            }
            taken = t;
        }
        taken[2 * ntaken] = i;
        taken[2 * ntaken + 1] = mend;
        ntaken++;
        i = mend;
    }
    /* counts (`_COUNT_WITH_WORD`), each then read by `_counted` */
    for (Py_ssize_t i = 0; i < n;) {
        char c = b[i];
        if (!IS(c, C_ALPHA | C_DIGIT) ||
            (i > 0 && IS(b[i - 1], C_NOCOUNT) && !after_roll(b, i))) {
            /* no count begins in a run of [\w.,/+-] after its first character, but the last
             * number of a range or a roll: looked for in a run that holds a digit (a test of
             * each character of every run cost a quarter of a first reading) */
            Py_ssize_t from = i;
            unsigned char seen = 0;
            while (i < n && IS(b[i], C_NOCOUNT))
                seen |= cls[(unsigned char)b[i++]];
            if (seen & C_DIGIT) {
                Py_ssize_t k = from + 1;
                while (k < i && !after_roll(b, k))
                    k++;
                if (k < i) {
                    i = k;
                    continue;
                }
            }
            i++;
            continue;
        }
        Py_ssize_t count_end = -1;
        if (IS(c, C_DIGIT)) {
            Py_ssize_t run = 0;
            while (i + run < n && IS(b[i + run], C_DIGIT))
                run++;
            if (run > MAX_COUNT_DIGITS) {
                i += run;
                continue;
            }
            count_end = i + run;
        }
        else {
            unsigned short words = words_from[(unsigned char)c];
            for (int w = 0; words && count_end < 0; w++, words >>= 1)
                if (words & 1)
                    count_end = word_at(b, n, i, NUMBER_WORDS[w]);
            if (count_end < 0) {
                i++;
                continue;
            }
        }
        Py_ssize_t pos = count_tail(b, n, count_end);
        if (pos < 0) {
            i++;
            continue;
        }
        Py_ssize_t at = i;
        i = pos; /* the next count is looked for after this one's spaces */
        if (ntaken && inside(at, taken, ntaken))
            continue;
        PyObject *ref;
        int got = counted(nm, b, n, at, count_end, pos, word_end(b, n, pos), &ref);
        if (got < 0)
            goto error;
        if (!got)
            continue;
        if (ntaken) {
            Py_ssize_t s = PyLong_AsSsize_t(PyTuple_GET_ITEM(ref, 1));
            Py_ssize_t e = PyLong_AsSsize_t(PyTuple_GET_ITEM(ref, 2));
            if (overlaps(s, e, taken, ntaken)) {
                Py_DECREF(ref);
                continue;
            }
            unsorted = 1;
        }
        if (refs_add(&refs, at, ref) < 0)
            goto error;
    }
    if (unsorted) { /* a stable sort by where each reference begins */
        for (Py_ssize_t k = 1; k < refs.len; k++) {
            Found f = refs.items[k];
            Py_ssize_t m = k;
            while (m > 0 && refs.items[m - 1].key > f.key) {
                refs.items[m] = refs.items[m - 1];
                m--;
            }
            refs.items[m] = f;
        }
    }
    PyMem_Free(taken);
    taken = NULL;
    PyObject *out = PyTuple_New(refs.len);
    if (out == NULL)
        goto error;
    for (Py_ssize_t k = 0; k < refs.len; k++)
        PyTuple_SET_ITEM(out, k, refs.items[k].ref);
    PyMem_Free(refs.items);
    PyObject_GC_UnTrack(out); /* references only (see make_ref) */
    return out;
error:
    PyMem_Free(taken);
    refs_free(&refs);
    return NULL;
}

static Py_ssize_t lines_read, chars_read; /* by the native reader, since it was loaded */

/* Whether a count written after a creature's name may begin in b ("Goblins x4", "wolves (4)",
 * "(x3)", "Bandits: 6": `prose._AFTER_TRIGGER`, but ×, which is left to Python already): a walk
 * leaves a text with one to `prose._read_texts`, which reads it here (`read`) and adds those
 * counts. */
static int
after_trigger(const char *b, Py_ssize_t n)
{
    for (Py_ssize_t i = 1; i < n; i++) {
        if (b[i] < '0' || b[i] > '9')
            continue;
        Py_ssize_t j = i;
        while (j > 0 && (b[j - 1] == ' ' || b[j - 1] == '\t'))
            j--;
        if (j == 0)
            continue;
        char c = b[j - 1];
        if (c == ':' || c == '(')
            return 1;
        if (c == 'x' || c == 'X') {
            Py_ssize_t k = j - 1;
            if (k > 0 && (b[k - 1] == ' ' || b[k - 1] == '\t'))
                return 1;
            while (k > 0 && (b[k - 1] == ' ' || b[k - 1] == '\t'))
                k--;
            if (k > 0 && b[k - 1] == '(')
                return 1;
        }
    }
    return 0;
}

/* A text above U+007F as the bytes the ASCII reader reads (MARK_OTHER, MARK_QUOTE), in b;
 * 0 when a character of it is one the patterns tell apart (a letter, digit or space above
 * U+007F, ×, a newline before its end, or a character that is a mark itself). */
static int
marks_of(PyObject *text, Py_ssize_t n, char *b)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 128) {
            if (c == '\n' || c == MARK_OTHER || c == MARK_QUOTE)
                return 0;
            b[i] = (char)c;
        }
        else if (c == 0x2019)
            b[i] = MARK_QUOTE;
        else if (c == 0xd7 || Py_UNICODE_ISALNUM(c) || Py_UNICODE_ISSPACE(c))
            return 0;
        else
            b[i] = MARK_OTHER;
    }
    return 1;
}

/* The references of a text as a walk gives it (`_recognise([text])[0]`): a new tuple, Py_None
 * (a new reference) when the text is left to the Python reader (a newline before its end, a
 * letter, digit or space above U+007F, ×, and with `after`, a count that may be written after
 * a name: the walk leaves those to `_read_texts`, which adds them to this reading), or NULL. */
static PyObject *
read_text(Names *nm, PyObject *text, char *buffer, int after)
{
    if (!PyUnicode_IS_ASCII(text)) {
        Py_ssize_t n = PyUnicode_GET_LENGTH(text);
        int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        while (n && (PyUnicode_READ(kind, data, n - 1) == '\r' ||
                     PyUnicode_READ(kind, data, n - 1) == '\n'))
            n--;
        char *b = buffer;
        if (b == NULL && (b = PyMem_Malloc(n + 1)) == NULL)
            return PyErr_NoMemory();
        PyObject *out = NULL;
        int marks = marks_of(text, n, b);
        if (marks) {
            blank_spans(b, n);
            marks = !(after && after_trigger(b, n));
        }
        if (marks) {
            nm->text = text;
            out = read_blanked(nm, b, n);
            nm->text = NULL;
            lines_read++;
            chars_read += PyUnicode_GET_LENGTH(text);
        }
        else {
            out = Py_None;
            Py_INCREF(out);
        }
        if (buffer == NULL)
            PyMem_Free(b);
        return out;
    }
    const char *s = (const char *)PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n && (s[n - 1] == '\r' || s[n - 1] == '\n'))
        while (n && (s[n - 1] == '\r' || s[n - 1] == '\n'))
            n--;
    if (memchr(s, '\n', n)) {
        Py_RETURN_NONE;
    }
    char *b = buffer;
    if (b == NULL && (b = PyMem_Malloc(n + 1)) == NULL)
        return PyErr_NoMemory();
    memcpy(b, s, n);
    blank_spans(b, n);
    if (after && after_trigger(b, n)) {
        if (buffer == NULL)
            PyMem_Free(b);
        Py_RETURN_NONE;
    }
    PyObject *out = read_blanked(nm, b, n);
    lines_read++;
    chars_read += PyUnicode_GET_LENGTH(text);
    if (buffer == NULL)
        PyMem_Free(b);
    return out;
}

/* ---- the block walk (`prose.ProseWalk._walk`) ------------------------------------------- */

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t len;
} Text;

static void
text_of(PyObject *s, Text *t)
{
    t->kind = PyUnicode_KIND(s);
    t->data = PyUnicode_DATA(s);
    t->len = PyUnicode_GET_LENGTH(s);
}

#define AT(t, i) PyUnicode_READ((t)->kind, (t)->data, (i))

/* Where ASCII `needle` begins in t[from:to], or -1. */
static Py_ssize_t
find(const Text *t, Py_ssize_t from, Py_ssize_t to, const char *needle)
{
    Py_ssize_t m = (Py_ssize_t)strlen(needle);
    if (t->kind == PyUnicode_1BYTE_KIND) {
        const char *d = t->data;
        Py_ssize_t i = from;
        while (i + m <= to) {
            const char *p = memchr(d + i, needle[0], to - m + 1 - i);
            if (p == NULL)
                return -1;
            i = p - d;
            if (memcmp(p, needle, m) == 0)
                return i;
            i++;
        }
        return -1;
    }
    for (Py_ssize_t i = from; i + m <= to; i++) {
        Py_ssize_t k = 0;
        while (k < m && AT(t, i + k) == (Py_UCS4)(unsigned char)needle[k])
            k++;
        if (k == m)
            return i;
    }
    return -1;
}

/* `_SETEXT_UNDERLINE.match(s[:len])` (^ {0,3}(?:=+|-+)[ \t]*$), `$` also before a last \n. */
static int
setext_underline(const Text *t, Py_ssize_t len)
{
    Py_ssize_t i = 0;
    while (i < 3 && i < len && AT(t, i) == ' ')
        i++;
    if (i >= len)
        return 0;
    Py_UCS4 c = AT(t, i);
    if (c != '=' && c != '-')
        return 0;
    while (i < len && AT(t, i) == c)
        i++;
    while (i < len && (AT(t, i) == ' ' || AT(t, i) == '\t'))
        i++;
    return i == len || (i == len - 1 && AT(t, i) == '\n');
}

/* `_FENCE.match(line)` (^ {0,3}(`{3,}|~{3,})): the run's start and end, 0 if none. */
static int
fence_match(const Text *t, Py_ssize_t len, Py_ssize_t *start, Py_ssize_t *end)
{
    Py_ssize_t i = 0;
    while (i < 3 && i < len && AT(t, i) == ' ')
        i++;
    if (i >= len)
        return 0;
    Py_UCS4 c = AT(t, i);
    if (c != '`' && c != '~')
        return 0;
    Py_ssize_t j = i;
    while (j < len && AT(t, j) == c)
        j++;
    if (j - i < 3)
        return 0;
    *start = i;
    *end = j;
    return 1;
}

static int
is_space(Py_UCS4 c)
{
    return Py_UNICODE_ISSPACE(c);
}

typedef struct {
    PyObject *fence; /* None or the opening run */
    int in_comment, front_matter, previous_blank, in_list;
} State;

static PyObject *
state_tuple(const State *s)
{
    return Py_BuildValue("(ONNNN)", s->fence, PyBool_FromLong(s->in_comment),
                         PyBool_FromLong(s->front_matter), PyBool_FromLong(s->previous_blank),
                         PyBool_FromLong(s->in_list));
}

/* The line as the walk reads it: `raw` up to `len`, its first `blanked` code points spaces. */
typedef struct {
    Text *raw;
    Py_ssize_t len, blanked;
} Line;

static Py_UCS4
line_at(const Line *l, Py_ssize_t i)
{
    return i < l->blanked ? ' ' : AT(l->raw, i);
}

/* `_LIST_ITEM.match(line)`: ^[ \t]*(?:[-+*]|\d{1,9}[.)])[ \t] */
static int
list_item(const Line *l)
{
    Py_ssize_t i = 0, n = l->len;
    while (i < n && (line_at(l, i) == ' ' || line_at(l, i) == '\t'))
        i++;
    if (i >= n)
        return 0;
    Py_UCS4 c = line_at(l, i);
    if (c == '-' || c == '+' || c == '*')
        i++;
    else {
        Py_ssize_t d = 0;
        while (i < n && Py_UNICODE_ISDECIMAL(line_at(l, i))) {
            i++;
            d++;
        }
        if (d == 0 || d > 9 || i >= n || (line_at(l, i) != '.' && line_at(l, i) != ')'))
            return 0;
        i++;
    }
    return i < n && (line_at(l, i) == ' ' || line_at(l, i) == '\t');
}

/* `_ATX_HEADING.match(line)`: ^ {0,3}#{1,6}(?:[ \t]|$) */
static int
atx_heading(const Line *l)
{
    Py_ssize_t i = 0, n = l->len;
    while (i < 3 && i < n && line_at(l, i) == ' ')
        i++;
    Py_ssize_t h = 0;
    while (i < n && line_at(l, i) == '#') {
        i++;
        h++;
    }
    if (h < 1 || h > 6)
        return 0;
    return i == n || line_at(l, i) == ' ' || line_at(l, i) == '\t' ||
           (i == n - 1 && line_at(l, i) == '\n');
}

/* `_REFERENCE_DEFINITION.match(line)`: ^ {0,3}\[[^\]]+\]: */
static int
reference_definition(const Line *l)
{
    Py_ssize_t i = 0, n = l->len;
    while (i < 3 && i < n && line_at(l, i) == ' ')
        i++;
    if (i >= n || line_at(l, i) != '[')
        return 0;
    Py_ssize_t j = i + 1;
    while (j < n && line_at(l, j) != ']')
        j++;
    return j > i + 1 && j + 1 < n && line_at(l, j + 1) == ':';
}

/* `_SETEXT_UNDERLINE.match(line)` of the walk's line. */
static int
line_underline(const Line *l)
{
    Py_ssize_t i = 0, n = l->len;
    while (i < 3 && i < n && line_at(l, i) == ' ')
        i++;
    if (i >= n)
        return 0;
    Py_UCS4 c = line_at(l, i);
    if (c != '=' && c != '-')
        return 0;
    while (i < n && line_at(l, i) == c)
        i++;
    while (i < n && (line_at(l, i) == ' ' || line_at(l, i) == '\t'))
        i++;
    return i == n || (i == n - 1 && line_at(l, i) == '\n');
}

/* The line as a new str (the spaces of `blanked` in front). */
static PyObject *
line_str(const Line *l, PyObject *raw)
{
    /* made of canonical parts (a str is equal only to one of its own kind) */
    PyObject *rest = PyUnicode_Substring(raw, l->blanked, l->len);
    if (rest == NULL || l->blanked == 0)
        return rest;
    PyObject *spaces = PyUnicode_New(l->blanked, 127);
    PyObject *s = NULL;
    if (spaces != NULL) {
        memset(PyUnicode_1BYTE_DATA(spaces), ' ', l->blanked);
        s = PyUnicode_Concat(spaces, rest);
    }
    Py_XDECREF(spaces);
    Py_DECREF(rest);
    return s;
}

typedef struct {
    Names names;
    int with_names;
    PyObject *pending; /* (index, text) of the texts left to the Python reader */
    PyObject *blank_spans; /* prose._blank_spans, for lines that are not ASCII */
    char *buffer;
    Py_ssize_t buffer_size;
    Py_ssize_t read;  /* code points of new text read */
    Py_ssize_t limit; /* ... at most (a longer text alone) */
    int full;         /* a text left for the next step: the limit reached */
} Reader;

static char *
reader_buffer(Reader *r, Py_ssize_t n)
{
    if (n + 1 > r->buffer_size) {
        char *b = PyMem_Realloc(r->buffer, n + 1);
        if (b == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        r->buffer = b;
        r->buffer_size = n + 1;
    }
    return r->buffer;
}

static int
leave(Reader *r, PyObject *text, Py_ssize_t index)
{
    PyObject *item = Py_BuildValue("(nO)", index, text);
    if (item == NULL || PyList_Append(r->pending, item) < 0) {
        Py_XDECREF(item);
        return -1;
    }
    Py_DECREF(item);
    return 0;
}

/* The references of a prose text (`line_refs[index]`): known by its text, else read here
 * and remembered, else () with (index, text) put in `pending` (a text above U+007F, or one
 * that would take the new text read past the limit: read after the step). A new reference or
 * NULL. */
static PyObject *
refs_of(Reader *r, PyObject *text, Py_ssize_t index)
{
    Names *nm = &r->names;
    PyObject *found = PyDict_GetItemWithError(nm->known, text);
    if (found != NULL) {
        Py_INCREF(found);
        return found;
    }
    if (PyErr_Occurred())
        return NULL;
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    if (r->read > 0 && r->read + len > r->limit) {
        r->full = 1;
        return leave(r, text, index) < 0 ? NULL : PyTuple_New(0);
    }
    char *b = reader_buffer(r, len);
    if (b == NULL)
        return NULL;
    found = read_text(nm, text, b, 1);
    if (found == NULL)
        return NULL;
    r->read += len;
    if (found == Py_None) {
        Py_DECREF(found);
        return leave(r, text, index) < 0 ? NULL : PyTuple_New(0);
    }
    if (PyDict_GET_SIZE(nm->known) >= nm->line_cache)
        PyDict_Clear(nm->known);
    if (PyDict_SetItem(nm->known, text, found) < 0) {
        Py_DECREF(found);
        return NULL;
    }
    return found;
}

/* walk(lines, n, stop, state, names, old_states, same_from, moved, keep, states, texts,
 *      line_refs, pending, interned, max_states, blank_spans, read_chars)
 *   -> (n, state, rest)
 * Walks lines[n:stop] from `state` (`ProseWalk._walk`'s loop, line by line), appending to
 * `states` (when `keep`), `texts` and `line_refs` (when `names` is given); stops early at a
 * line of the unchanged rest (`same_from` and on, `moved` lines from where it was in
 * `old_states`) that is in the state it had there (rest: True), or once `read_chars` code
 * points of new text were read. */
static PyObject *
walk(PyObject *self, PyObject *args)
{
    PyObject *lines, *state_in, *names_in, *old_states, *states, *texts, *line_refs, *pending,
        *interned, *blank_spans_fn;
    Py_ssize_t n, stop, same_from, moved, max_states, read_chars;
    int keep;
    if (!PyArg_ParseTuple(args, "OnnOOOnnpOOOOOnOn", &lines, &n, &stop, &state_in, &names_in,
                          &old_states, &same_from, &moved, &keep, &states, &texts, &line_refs,
                          &pending, &interned, &max_states, &blank_spans_fn, &read_chars))
        return NULL;
    if (!(PyList_Check(lines) || PyTuple_Check(lines)) || !PyList_Check(states) ||
        !PyList_Check(texts) || !PyList_Check(line_refs) || !PyList_Check(pending) ||
        !PyDict_Check(interned) || !PyTuple_Check(state_in) ||
        PyTuple_GET_SIZE(state_in) != 5 || !(old_states == Py_None || PyList_Check(old_states))) {
        PyErr_SetString(PyExc_TypeError, "walk: lines as a list or tuple, lists, a state");
        return NULL;
    }
    Reader r = {0};
    r.pending = pending;
    r.blank_spans = blank_spans_fn;
    r.with_names = names_in != Py_None;
    r.limit = read_chars;
    if (r.with_names && unpack_names(names_in, &r.names) < 0)
        return NULL;
    PyObject **items = PySequence_Fast_ITEMS(lines);
    Py_ssize_t count = PySequence_Fast_GET_SIZE(lines);
    if (stop > count)
        stop = count;
    State st;
    st.fence = PyTuple_GET_ITEM(state_in, 0);
    st.in_comment = PyObject_IsTrue(PyTuple_GET_ITEM(state_in, 1));
    st.front_matter = PyObject_IsTrue(PyTuple_GET_ITEM(state_in, 2));
    st.previous_blank = PyObject_IsTrue(PyTuple_GET_ITEM(state_in, 3));
    st.in_list = PyObject_IsTrue(PyTuple_GET_ITEM(state_in, 4));
    Py_INCREF(st.fence);
    PyObject *current = state_in; /* the state as a tuple, while it is unchanged */
    Py_INCREF(current);
    State made = st;
    int rest = 0;
    PyObject *held = NULL; /* the line walked (a callback could drop it from `lines`) */
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL)
        goto error;
    while (n < stop) {
        /* `lines` as it is now: what Python runs during a name's lookup could change it */
        items = PySequence_Fast_ITEMS(lines);
        count = PySequence_Fast_GET_SIZE(lines);
        if (n >= count)
            break;
        if (keep) {
            if (current == NULL || made.fence != st.fence || made.in_comment != st.in_comment ||
                made.front_matter != st.front_matter ||
                made.previous_blank != st.previous_blank || made.in_list != st.in_list) {
                Py_XDECREF(current);
                current = state_tuple(&st);
                if (current == NULL)
                    goto error;
                PyObject *same = PyDict_SetDefault(interned, current, current);
                if (same == NULL)
                    goto error;
                Py_INCREF(same);
                Py_DECREF(current);
                current = same;
                if (PyDict_GET_SIZE(interned) > max_states)
                    PyDict_Clear(interned);
                made = st;
            }
            if (old_states != Py_None && n >= same_from) {
                Py_ssize_t was = n - moved;
                if (was < 0 || was >= PyList_GET_SIZE(old_states)) {
                    PyErr_SetString(PyExc_IndexError, "walk: the old walk's states");
                    goto error;
                }
                int same = PyObject_RichCompareBool(PyList_GET_ITEM(old_states, was), current,
                                                    Py_EQ);
                if (same < 0)
                    goto error;
                if (same) {
                    rest = 1;
                    break;
                }
            }
            if (PyList_Append(states, current) < 0)
                goto error;
        }
        PyObject *raw = items[n];
        Py_INCREF(raw);
        Py_XSETREF(held, raw);
        if (!PyUnicode_Check(raw)) {
            PyErr_SetString(PyExc_TypeError, "walk: lines of text");
            goto error;
        }
        n++;
        Text t;
        text_of(raw, &t);
        PyObject *text = NULL; /* what the line holds as prose (a new reference), or none */
        int normal = st.fence == Py_None && !(st.in_comment || st.front_matter);
        Py_UCS4 c0 = t.len ? AT(&t, 0) : 0;
        if (normal && c0 < 128 && IS(c0, C_ALPHA) && find(&t, 0, t.len, "<!--") < 0) {
            /* a line that begins with a letter: prose, unless the next line underlines it */
            if (st.previous_blank)
                st.in_list = st.previous_blank = 0;
            if (n < count) {
                Text f;
                if (!PyUnicode_Check(items[n])) {
                    PyErr_SetString(PyExc_TypeError, "walk: lines of text");
                    goto error;
                }
                text_of(items[n], &f);
                Py_UCS4 f0 = f.len ? AT(&f, 0) : 0;
                if ((f0 == '=' || f0 == '-') && setext_underline(&f, f.len))
                    goto no_prose;
            }
            text = raw;
            Py_INCREF(text);
            goto prose;
        }
        /* line = raw.rstrip("\r\n") */
        Line l = {&t, t.len, 0};
        while (l.len && (AT(&t, l.len - 1) == '\r' || AT(&t, l.len - 1) == '\n'))
            l.len--;
        Py_ssize_t lead = 0; /* stripped = line.lstrip(" ") */
        while (lead < l.len && AT(&t, lead) == ' ')
            lead++;
        Py_ssize_t stripped_len = l.len - lead;
        Py_UCS4 first = lead < l.len ? AT(&t, lead) : 0;
        if (st.front_matter) {
            if (n > 1) {
                Py_ssize_t e = l.len;
                while (e && is_space(AT(&t, e - 1)))
                    e--;
                if (e == 3 && ((AT(&t, 0) == '-' && AT(&t, 1) == '-' && AT(&t, 2) == '-') ||
                               (AT(&t, 0) == '.' && AT(&t, 1) == '.' && AT(&t, 2) == '.')))
                    st.front_matter = 0;
            }
            goto no_prose;
        }
        if (st.fence != Py_None) {
            if (first == PyUnicode_READ_CHAR(st.fence, 0)) {
                Py_ssize_t fs, fe;
                if (fence_match(&t, l.len, &fs, &fe) && AT(&t, fs) == first &&
                    fe - fs >= PyUnicode_GET_LENGTH(st.fence)) {
                    Py_ssize_t k = fe;
                    while (k < l.len && is_space(AT(&t, k)))
                        k++;
                    if (k == l.len) {
                        Py_DECREF(st.fence);
                        st.fence = Py_None;
                        Py_INCREF(Py_None);
                    }
                }
            }
            goto no_prose;
        }
        if (first == '`' || first == '~') {
            Py_ssize_t fs, fe;
            if (fence_match(&t, l.len, &fs, &fe)) {
                PyObject *f = PyUnicode_Substring(raw, fs, fe);
                if (f == NULL)
                    goto error;
                Py_DECREF(st.fence);
                st.fence = f;
                goto no_prose;
            }
        }
        if (st.in_comment) {
            Py_ssize_t end = find(&t, 0, l.len, "-->");
            if (end < 0)
                goto no_prose;
            st.in_comment = 0;
            l.blanked = end + 3;
        }
        {
            Py_ssize_t start = find(&t, l.blanked, l.len, "<!--");
            if (start >= 0 && find(&t, start, l.len, "-->") < 0) {
                st.in_comment = 1;
                l.len = start;
                if (l.blanked > l.len)
                    l.blanked = l.len;
            }
        }
        {
            int blank = 1;
            for (Py_ssize_t k = l.blanked; k < l.len && blank; k++)
                blank = is_space(AT(&t, k));
            int was_blank = st.previous_blank;
            st.previous_blank = blank;
            if (blank)
                goto no_prose;
            int indented = (l.len && line_at(&l, 0) == '\t') || l.len - stripped_len >= 4;
            int listed = (first == '-' || first == '+' || first == '*' ||
                          (first >= '0' && first <= '9')) && list_item(&l);
            if (listed)
                st.in_list = 1;
            else if (was_blank && !indented)
                st.in_list = 0;
            if (indented && was_blank && !st.in_list) {
                st.previous_blank = 1;
                goto no_prose;
            }
            if (first == '#' && atx_heading(&l))
                goto no_prose;
            if (first == '[' && reference_definition(&l))
                goto no_prose;
            if ((first == '=' || first == '-') && line_underline(&l))
                goto no_prose;
            if (n < count) {
                Text f;
                if (!PyUnicode_Check(items[n])) {
                    PyErr_SetString(PyExc_TypeError, "walk: lines of text");
                    goto error;
                }
                text_of(items[n], &f);
                Py_ssize_t k = 0;
                while (k < f.len && AT(&f, k) == ' ')
                    k++;
                Py_UCS4 f0 = k < f.len ? AT(&f, k) : 0;
                if ((f0 == '=' || f0 == '-') && setext_underline(&f, f.len) &&
                    !((first == '-' || first == '+' || first == '*' ||
                       (first >= '0' && first <= '9')) &&
                      list_item(&l)))
                    goto no_prose;
            }
            /* text = _blank_spans(line) */
            if (PyUnicode_IS_ASCII(raw)) {
                char *b = reader_buffer(&r, l.len);
                if (b == NULL)
                    goto error;
                memcpy(b, PyUnicode_1BYTE_DATA(raw), l.len);
                memset(b, ' ', l.blanked);
                blank_spans(b, l.len);
                text = ascii_str(b, l.len);
            }
            else {
                PyObject *line = line_str(&l, raw);
                text = line ? PyObject_CallOneArg(r.blank_spans, line) : NULL;
                Py_XDECREF(line);
            }
            if (text == NULL)
                goto error;
        }
    prose:
        if (PyList_Append(texts, text) < 0) {
            Py_DECREF(text);
            goto error;
        }
        if (r.with_names) {
            PyObject *refs = refs_of(&r, text, PyList_GET_SIZE(line_refs));
            if (refs == NULL || PyList_Append(line_refs, refs) < 0) {
                Py_XDECREF(refs);
                Py_DECREF(text);
                goto error;
            }
            Py_DECREF(refs);
        }
        Py_DECREF(text);
        if (r.full || r.read >= read_chars)
            break;
        continue;
    no_prose:
        if (PyList_Append(texts, Py_None) < 0)
            goto error;
        if (r.with_names && PyList_Append(line_refs, empty) < 0)
            goto error;
    }
    Py_XDECREF(held);
    Py_XDECREF(current);
    Py_DECREF(empty);
    PyMem_Free(r.buffer);
    PyObject *out_state = state_tuple(&st);
    Py_DECREF(st.fence);
    if (out_state == NULL)
        return NULL;
    return Py_BuildValue("(nNO)", n, out_state, rest ? Py_True : Py_False);
error:
    Py_XDECREF(held);
    Py_XDECREF(current);
    Py_XDECREF(empty);
    Py_DECREF(st.fence);
    PyMem_Free(r.buffer);
    return NULL;
}

/* read(names, text) -> the references of a text as a walk gives it, or None when the text is
 * left to the Python reader (not ASCII, or a newline of its own). */
static PyObject *
read_one(PyObject *self, PyObject *args)
{
    PyObject *names_in, *text;
    if (!PyArg_ParseTuple(args, "OU", &names_in, &text))
        return NULL;
    Names nm;
    if (unpack_names(names_in, &nm) < 0)
        return NULL;
    return read_text(&nm, text, NULL, 0);
}

/* blank(text) -> `_blank_spans` of an ASCII text (None for any other). */
static PyObject *
blank(PyObject *self, PyObject *args)
{
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U", &text))
        return NULL;
    if (!PyUnicode_IS_ASCII(text))
        Py_RETURN_NONE;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *out = PyUnicode_New(n, 127);
    if (out == NULL)
        return NULL;
    memcpy(PyUnicode_1BYTE_DATA(out), PyUnicode_1BYTE_DATA(text), n);
    blank_spans((char *)PyUnicode_1BYTE_DATA(out), n);
    return out;
}

/* reads() -> (texts, code points) read natively since the module was loaded (tests count). */
static PyObject *
reads(PyObject *self, PyObject *args)
{
    return Py_BuildValue("(nn)", lines_read, chars_read);
}

static PyMethodDef methods[] = {
    {"memo", new_memo, METH_VARARGS, "A new Memo of what a ProseNames' names mean."},
    {"reads", reads, METH_NOARGS, "(texts, code points) read natively so far."},
    {"walk", walk, METH_VARARGS, "Walk lines of a document (see prose.ProseWalk._walk)."},
    {"read", read_one, METH_VARARGS, "The prose references of one text (see prose._recognise)."},
    {"blank", blank, METH_VARARGS, "An ASCII text with its spans blanked (prose._blank_spans)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_prose_native",
    "The native first reading of prose: see d5e_daemon/prose.py.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__prose_native(void)
{
    init_classes();
    init_words();
    return PyModule_Create(&module);
}
