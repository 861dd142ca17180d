/*
 * The columnar batch's reading and writing of a chunk, each in one compiled pass (optional).
 *
 * Built by setup.py as the extension aci_rules.engine._columnar when a C compiler is at hand
 * (`optional`: without one, the install goes on and engine/columnar_reader.py reads and writes
 * with numpy alone, the same bytes more slowly). Python calls these functions through ctypes
 * on numpy arrays (engine/columnar_native.py); the module itself exports nothing else.
 *
 * Each function does what the numpy code of engine/columnar_reader.py does over a chunk, with
 * the same rules cell by cell (tests/test_columnar_native.py compares both on generated cells
 * and files), but in one pass over the bytes instead of one pass per numpy operation:
 *
 * - aci_read_chunk finds the lines and cells of a chunk and reads each cell by its column's
 *   kind (dates through the calendar's table, decimals digit by digit, whole numbers, names,
 *   crises), keeping only the rows it vouches for, as ColumnarReader._read does;
 * - aci_write_csv writes the CSV rows of a piece of output straight to their place, as
 *   _Writer._rows lays them out (amounts in quanta written as Decimal writes them).
 *
 * Nothing here allocates, and every write is within the sizes the caller passes: the caller
 * gives arrays of at least as many rows as the chunk has lines, and an output of the bound
 * aci_write_csv_bound gives.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* The kinds of columns (ColumnarReader's, as numbers: engine/columnar_native.py). */
enum { K_DATE = 0, K_NUMBER = 1, K_INTEGER = 2, K_NAME = 3, K_CRISES = 4, K_CONTRACTS = 5 };
/* Why a whole chunk goes to the row path (0: read here). */
enum { R_READ = 0, R_LONE_RETURN = 1, R_ODD_QUOTES = 2 };

static const int64_t POW10[19] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL, 1000000000LL,
    10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL, 100000000000000LL,
    1000000000000000LL, 10000000000000000LL, 100000000000000000LL, 1000000000000000000LL};

static inline int is_digit(uint8_t byte) { return byte >= '0' && byte <= '9'; }

/* The bytes a cell read here ends at: a comma, a line break, a quote, a carriage return. */
static const uint8_t ENDS_CELL[256] = {[','] = 1, ['\n'] = 1, ['"'] = 1, ['\r'] = 1};

/* INT64_MAX / 10**k: a bound above it times 10**k does not fit in 64 bits. */
static const int64_t MOST_TIMES_POW10[19] = {
    9223372036854775807LL, 922337203685477580LL, 92233720368547758LL, 9223372036854775LL, 922337203685477LL,
    92233720368547LL, 9223372036854LL, 922337203685LL, 92233720368LL, 9223372036LL, 922337203LL, 92233720LL,
    9223372LL, 922337LL, 92233LL, 9223LL, 922LL, 92LL, 9LL};

/* Whether value / 10**scale < bound (value >= 0, scale <= 18), without overflow. */
static inline int below(int64_t value, int64_t bound, int scale)
{
    if (bound <= 0)
        return 0;
    if (bound > MOST_TIMES_POW10[scale])
        return 1;
    return value < bound * POW10[scale];
}

/* Whether value / 10**scale > bound (value >= 0, scale <= 18), without overflow. */
static inline int above(int64_t value, int64_t bound, int scale)
{
    if (bound < 0)
        return 1;
    if (bound > MOST_TIMES_POW10[scale])
        return 0;
    return value > bound * POW10[scale];
}

/*
 * A cell written as a plain whole number (0|[1-9][0-9]*) or, with `decimals`, a plain decimal
 * ((0|[1-9][0-9]*)\.[0-9]+), of at most `most_digits` digits, as columnar_reader._parse_number
 * reads it: 1 and *value, *scale (the value is exactly value / 10**scale), or 0.
 */
static int read_number(const uint8_t *cell, int64_t length, int decimals, int64_t most_digits,
                       int64_t *value, int *scale)
{
    int64_t dots = 0, where_dot = -1, found = 0, position;
    if (length <= 0)
        return 0;
    if (length > 8 && length > most_digits + (decimals ? 1 : 0))
        return 0;
    for (position = 0; position < length; position++) {
        uint8_t byte = cell[position];
        if (byte == '.') {
            if (++dots == 1)
                where_dot = position;
        } else if (is_digit(byte)) {
            found = found * 10 + (byte - '0');
        } else {
            return 0;
        }
    }
    if (dots == 0)
        where_dot = length;
    else if (dots > 1 || !decimals)
        return 0;
    else if (!(where_dot >= 1 && where_dot < length - 1))
        return 0;
    if (length > 8 && length - dots > most_digits)
        return 0;
    if (cell[0] == '0' && where_dot > 1) /* no leading zero but in 0 and 0.xx */
        return 0;
    *value = found;
    *scale = dots ? (int)(length - where_dot - 1) : 0;
    return 1;
}

/* A cell written YYYY-MM-DD, a day of the table's years: 1 and *ordinal, or 0. */
static int read_date(const uint8_t *cell, int64_t length, const int32_t *table, int64_t table_size,
                     int64_t min_key, int64_t *ordinal)
{
    int64_t key = 0;
    int position;
    if (length != 10)
        return 0;
    for (position = 0; position < 10; position++) {
        uint8_t byte = cell[position];
        if (position == 4 || position == 7) {
            if (byte != '-')
                return 0;
        } else if (is_digit(byte)) {
            key = key * 10 + (byte - '0');
        } else {
            return 0;
        }
    }
    key -= min_key;
    if (key < 0 || key >= table_size || table[key] == 0)
        return 0;
    *ordinal = table[key];
    return 1;
}

/* Whether a name is vouched for, as columnar_reader._name_ok says. */
static int name_ok(const uint8_t *cell, int64_t length, int64_t shortest, const uint8_t *formula_starts,
                   int64_t formula_count)
{
    int64_t position, continuations = 0;
    uint8_t first, last;
    if (length < 1)
        return 0;
    first = cell[0];
    if (!((first >= 0x21 && first <= 0x7E) || (first >= 0xC3 && first <= 0xDF)))
        return 0;
    for (position = 0; position < formula_count; position++)
        if (first == formula_starts[position])
            return 0;
    last = cell[length - 1];
    if (!(last >= 0x21 && last <= 0x7E)
        && !(last >= 0x80 && last <= 0xBF && length >= 2 && cell[length - 2] >= 0xC3 && cell[length - 2] <= 0xDF))
        return 0;
    for (position = 0; position < length; position++) {
        uint8_t byte = cell[position];
        if (byte < 0x20 || byte == 0x5C)
            return 0;
        if (byte >= 0x80 && byte <= 0xBF)
            continuations++;
    }
    if (length - continuations < shortest)
        return 0;
    if (length == 10 && cell[4] == '-' && cell[7] == '-' && is_digit(cell[0]) && is_digit(cell[1])
        && is_digit(cell[2]) && is_digit(cell[3]) && is_digit(cell[5]) && is_digit(cell[6])
        && is_digit(cell[8]) && is_digit(cell[9]))
        return 0; /* shaped like a date: the row path would read it as one */
    return 1;
}

/* The number of lines of a chunk (the last one may lack its line break). */
int64_t aci_count_lines(const uint8_t *buf, int64_t size)
{
    int64_t lines = 0;
    const uint8_t *at = buf, *end = buf + size;
    while (at < end) {
        const uint8_t *found = memchr(at, '\n', (size_t)(end - at));
        if (found == NULL)
            break;
        lines++;
        at = found + 1;
    }
    if (size && buf[size - 1] != '\n')
        lines++;
    return lines;
}

/*
 * Read a chunk's rows in one pass.
 *
 * Takes the chunk (`buf`, `size`), per column (`width` of them) its kind, whether a cell is
 * required, its bounds (whole numbers, `has_low`/`has_high` saying whether there is one), the
 * names' least length, the most crises a row read here has, the most digits of a number, the
 * calendar's table (YYYYMMDD - min_key -> ordinal, 0: no such day) and the bytes a formula
 * starts with. Fills, for `capacity` rows at least as many as the chunk's lines: each line's
 * start and end (its line break, or the chunk's end), the lines vouched for (row k of the
 * other outputs is line vouched[k]), each column's values, scales and goods (row-major, column
 * c of row k at k * width + c: a row's cells are written side by side), the names' cells, the crises (row-major, `most_crises`
 * a row) and whether each is there; `result` gets (lines, rows read, widest crises).
 * Returns R_READ, or why the whole chunk goes to the row path.
 */
int64_t aci_read_chunk(const uint8_t *buf, int64_t size, int64_t width, const int64_t *kinds,
                       const uint8_t *required, const int64_t *lows, const uint8_t *has_low, const int64_t *highs,
                       const uint8_t *has_high, int64_t shortest, int64_t most_crises, int64_t most_digits,
                       const int32_t *table, int64_t table_size, int64_t min_key, const uint8_t *formula_starts,
                       int64_t formula_count, int64_t capacity, int64_t *line_starts, int64_t *line_ends,
                       int64_t *vouched, int64_t *values, int64_t *scales, uint8_t *goods, int64_t *name_starts,
                       int64_t *name_lengths, int64_t *crises, uint8_t *crises_present, int64_t *result)
{
    int64_t count = 0, line = 0, at = 0, widest = 0;
    while (at < size) {
        int64_t start = at, end, column;
        int ok = 1, plain = 1;
        if (line >= capacity)
            return -1; /* the caller counted fewer lines than there are: never written past */
        for (column = 0; column < width; column++) {
            int64_t begin = at, length, kind = kinds[column];
            int last = column == width - 1;
            uint8_t separator = last ? '\n' : ',';
            int rate = 0;
            /* The usual cells first, each known by its shape and the separator after it: a rate
             * d.dd, a date YYYY-MM-DD, an empty cell; any other cell runs to the next comma,
             * line break, quote or carriage return. */
            if (kind == K_NUMBER && at + 4 < size && buf[at + 4] == separator && buf[at + 1] == '.'
                && is_digit(buf[at]) && is_digit(buf[at + 2]) && is_digit(buf[at + 3])) {
                at += 4;
                rate = 1;
            } else if (kind == K_DATE && at + 10 < size && buf[at + 10] == separator && buf[at + 4] == '-'
                       && buf[at + 7] == '-') {
                at += 10; /* read_date checks the digits; none of these bytes ends a cell */
                if (!is_digit(buf[begin]) || !is_digit(buf[begin + 1]) || !is_digit(buf[begin + 2])
                    || !is_digit(buf[begin + 3]) || !is_digit(buf[begin + 5]) || !is_digit(buf[begin + 6])
                    || !is_digit(buf[begin + 8]) || !is_digit(buf[begin + 9]))
                    at = begin;
            }
            if (at == begin)
                while (at < size && !ENDS_CELL[buf[at]])
                    at++;
            length = at - begin;
            if (at < size && buf[at] != separator) {
                if (last && buf[at] == '\r' && at + 1 < size && buf[at + 1] == '\n') {
                    at++; /* the line ends with CR LF: its last cell does not hold the CR */
                } else {
                    plain = 0; /* a quote, a lone CR, another count of cells: see below */
                    break;
                }
            } else if (at >= size && !last) {
                plain = 0;
                break;
            }
            if (column == 0 || kind == K_NAME) {
                name_starts[count] = begin;
                name_lengths[count] = length;
            }
            if (kind == K_DATE || kind == K_NUMBER || kind == K_INTEGER) {
                int64_t value = 0;
                int scale = 0, good;
                const uint8_t *cell = buf + begin;
                if (kind == K_DATE) {
                    good = read_date(cell, length, table, table_size, min_key, &value);
                } else if (rate) { /* the usual rate of achievement, d.dd */
                    good = 1;
                    value = (cell[0] - '0') * 100 + (cell[2] - '0') * 10 + (cell[3] - '0');
                    scale = 2;
                } else {
                    good = read_number(cell, length, kind == K_NUMBER, most_digits, &value, &scale);
                }
                if (good && kind != K_DATE && ((has_low[column] && below(value, lows[column], scale))
                                               || (has_high[column] && above(value, highs[column], scale))))
                    good = 0;
                if (!good) {
                    value = 0;
                    scale = 0;
                    if (length || required[column])
                        ok = 0;
                }
                values[count * width + column] = value;
                scales[count * width + column] = scale;
                goods[count * width + column] = (uint8_t)good;
            } else if (kind == K_NAME) {
                if (!name_ok(buf + begin, length, shortest, formula_starts, formula_count))
                    ok = 0;
            } else if (kind == K_CONTRACTS) {
                if (length)
                    ok = 0; /* later contracts: the row path reads them */
            } else if (kind == K_CRISES) {
                int64_t parts = (length + 1) / 11, part;
                int64_t *row = crises + count * most_crises;
                uint8_t *present = crises_present + count * most_crises;
                if (length && !((length + 1) % 11 == 0 && parts <= most_crises)) {
                    ok = 0;
                    parts = 0;
                } else if (parts > widest) {
                    widest = parts;
                }
                for (part = 0; part < parts; part++) {
                    int64_t here = begin + 11 * part, ordinal = 0;
                    if (!read_date(buf + here, 10, table, table_size, min_key, &ordinal)
                        || (part + 1 < parts && buf[here + 10] != ';'))
                        ok = 0;
                    row[part] = ordinal;
                    present[part] = 1;
                }
                for (part = parts; part < most_crises; part++) {
                    row[part] = 0;
                    present[part] = 0;
                }
            }
            at++; /* past the separator */
        }
        if (plain) {
            end = at - 1; /* the line break, or the end of the chunk */
        } else {
            /* Not one plain row: to the end of its line, a lone carriage return and the quotes
             * counted (an odd count: a quoted cell may hold a line break). */
            int64_t quotes = 0;
            end = start;
            while (end < size && buf[end] != '\n') {
                if (buf[end] == '"')
                    quotes++;
                else if (buf[end] == '\r' && (end + 1 >= size || buf[end + 1] != '\n'))
                    return R_LONE_RETURN;
                end++;
            }
            if (quotes % 2)
                return R_ODD_QUOTES;
            ok = 0;
        }
        line_starts[line] = start;
        line_ends[line] = end;
        at = end + 1;
        if (ok)
            vouched[count++] = line;
        line++;
    }
    result[0] = line;
    result[1] = count;
    result[2] = widest;
    return R_READ;
}

/* Write `value` quanta of 10**-scale as Decimal writes them (-12.30, 0.00, 5) at `out`;
 * returns the position after it. */
static inline uint8_t *put_number(uint8_t *out, int64_t value, int64_t scale)
{
    uint64_t magnitude;
    uint8_t digits[24];
    int count = 0, place;
    if (value < 0) {
        *out++ = '-';
        magnitude = (uint64_t)0 - (uint64_t)value;
    } else {
        magnitude = (uint64_t)value;
    }
    do {
        digits[count++] = (uint8_t)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    while (count < scale + 1)
        digits[count++] = '0';
    for (place = count - 1; place >= 0; place--) {
        *out++ = digits[place];
        if (scale && place == scale)
            *out++ = '.';
    }
    return out;
}

static inline uint8_t *put(uint8_t *out, const uint8_t *text, int64_t length)
{
    memcpy(out, text, (size_t)length);
    return out + length;
}

/*
 * Each row's rate of one mission for its contract year, from the matrices aci_read_chunk
 * filled (row-major, `width` columns): row r is matrix row t = take[r] (take NULL: r); its
 * contract year's key year[r] gives the column table[year[r]] (-1, or a key beyond the table:
 * none). Writes the mantissa, the scale and 1 in `present`, or 0, 0 and 0 where there is no
 * column or its cell was not read (empty): the rate the numpy reader's columns give.
 */
void aci_rates(int64_t rows, const int64_t *take, const int64_t *year, const int64_t *table, int64_t table_size,
               const int64_t *values, const int64_t *scales, const uint8_t *goods, int64_t width, int64_t *mantissa,
               int64_t *scale, uint8_t *present)
{
    int64_t row;
    for (row = 0; row < rows; row++) {
        int64_t at = take ? take[row] : row, key = year[row];
        int64_t column = key >= 0 && key < table_size ? table[key] : -1;
        if (column >= 0 && goods[at * width + column]) {
            mantissa[row] = values[at * width + column];
            scale[row] = scales[at * width + column];
            present[row] = 1;
        } else {
            mantissa[row] = 0;
            scale[row] = 0;
            present[row] = 0;
        }
    }
}

/*
 * Each row's sums by key (mission), whether a key has a line that applies, and its total, in
 * quanta, as _Writer._rows computes them with numpy: line l of row r gives amounts[l][t] (a whole
 * number of quanta as a double) where applies[l][t], 0 elsewhere, t = take[r] (take NULL: r);
 * it is added to key slot_of_line[l]. `amounts` and `applies` hold the addresses of each
 * line's column (doubles; bytes 0/1). Returns 0, or -1 where an amount that applies is not a
 * whole number within 2**53 (the caller then computes with numpy).
 */
int64_t aci_sum_lines(int64_t rows, int64_t lines, const uint64_t *amounts, const uint64_t *applies,
                      const int64_t *slot_of_line, int64_t keys, const int64_t *take, int64_t *sums, uint8_t *present,
                      int64_t *total)
{
    int64_t line, row;
    memset(sums, 0, (size_t)(rows * keys) * sizeof(int64_t));
    memset(present, 0, (size_t)(rows * keys));
    memset(total, 0, (size_t)rows * sizeof(int64_t));
    for (line = 0; line < lines; line++) {
        const double *amount = (const double *)(uintptr_t)amounts[line];
        const uint8_t *apply = (const uint8_t *)(uintptr_t)applies[line];
        int64_t slot = slot_of_line[line];
        for (row = 0; row < rows; row++) {
            int64_t at = take ? take[row] : row, quanta;
            double value;
            if (!apply[at])
                continue;
            value = amount[at];
            if (!(value > -9007199254740992.0 && value < 9007199254740992.0) || value != (double)(int64_t)value)
                return -1;
            quanta = (int64_t)value;
            sums[row * keys + slot] += quanta;
            present[row * keys + slot] = 1;
            total[row] += quanta;
        }
    }
    return 0;
}

/* The most bytes aci_write_csv may write for these rows (each number at most 21 bytes). */
int64_t aci_write_csv_bound(int64_t rows, const int64_t *name_lengths, int64_t prefix_length, int64_t middle_length,
                            int64_t keys, int64_t zero_length, int64_t longest_ending)
{
    int64_t fixed = prefix_length + middle_length + 4 * 22 + keys * (zero_length > 21 ? zero_length + 1 : 22)
        + longest_ending, bound = 0, row;
    for (row = 0; row < rows; row++)
        bound += fixed + name_lengths[row];
    return bound;
}

/*
 * The CSV rows of a piece of output, as _Writer._rows lays them out: source (prefix and line
 * number), name (copied from the chunk), the middle text (ruleset), taille (none: < 0), contract
 * year (none where year_null), total, each key's sum (or `zero` where not present), then the
 * ending out_codes[row] picks among `endings` (ending k is endings[ending_starts[k] ..
 * ending_starts[k + 1]]). Writes into `out` (of aci_write_csv_bound's size) and each row's
 * length into `lengths`; returns the bytes written, or -1 for a scale outside 0..18 (a text's
 * quantum finer than 10**-18: the caller writes with numpy).
 */
int64_t aci_write_csv(const uint8_t *buf, const uint8_t *prefix, int64_t prefix_length, int64_t rows,
                      const int64_t *line_numbers, const int64_t *name_starts, const int64_t *name_lengths,
                      const uint8_t *middle, int64_t middle_length, const int64_t *taille, const int64_t *year_values,
                      const uint8_t *year_null, const int64_t *total, const int64_t *sums, const uint8_t *present,
                      int64_t keys, const uint8_t *zero, int64_t zero_length, const int64_t *out_codes,
                      const uint8_t *endings, const int64_t *ending_starts, int64_t scale, uint8_t *out,
                      int64_t *lengths)
{
    uint8_t *at = out;
    int64_t row, slot;
    if (scale < 0 || scale > 18)
        return -1; /* each number must fit the bound's 21 bytes */
    for (row = 0; row < rows; row++) {
        uint8_t *begin = at;
        int64_t code = out_codes[row];
        at = put(at, prefix, prefix_length);
        at = put_number(at, line_numbers[row], 0);
        *at++ = ',';
        at = put(at, buf + name_starts[row], name_lengths[row]);
        at = put(at, middle, middle_length);
        if (taille[row] >= 0)
            at = put_number(at, taille[row], 0);
        *at++ = ',';
        if (!year_null[row])
            at = put_number(at, year_values[row], 0);
        *at++ = ',';
        at = put_number(at, total[row], scale);
        for (slot = 0; slot < keys; slot++) {
            *at++ = ',';
            if (present[row * keys + slot])
                at = put_number(at, sums[row * keys + slot], scale);
            else
                at = put(at, zero, zero_length);
        }
        at = put(at, endings + ending_starts[code], ending_starts[code + 1] - ending_starts[code]);
        lengths[row] = at - begin;
    }
    return at - out;
}

/* The module Python imports (to find this file and check it loads): nothing in it. */
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_columnar",
                                    "The columnar batch's compiled reading and writing (through ctypes).", -1, NULL,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__columnar(void) { return PyModule_Create(&module); }
