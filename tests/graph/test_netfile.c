/* The net format: every key of every layer type, the lexical rules
 * (comments, blanks, CRLF, forward references), and each malformed input
 * with its exact "SOURCE:LINE: ..." message. */
#include "graph/graph.h"
#include "helpers.h"

#include <unistd.h>

static cly_status parse(const char *text, cly_graph **g)
{
    return cly_graph_parse(text, strlen(text), "t.net", g);
}

/* Parsing fails with exactly `msg` and hands back no graph. */
#define PARSE_FAIL(text, msg)                                                   \
    do {                                                                        \
        cly_graph *g_ = NULL;                                                   \
        ASSERT_FAIL(parse((text), &g_), CLY_ERROR_INVALID_ARGUMENT, (msg));     \
        ck_assert_ptr_null(g_);                                                 \
    } while (0)

#define HEAD "input data c=8 h=16 w=16\n"

static const cly_node *node(const cly_graph *g, const char *name)
{
    ptrdiff_t i = cly_graph_find(g, name);
    ck_assert_msg(i >= 0, "no layer %s", name);
    return &g->nodes[i];
}

START_TEST(t_every_key)
{
    const char *text = "# every key of every type\n"
                       "input data c=8 h=32 w=30\n"
                       "conv c1 < data filters=8 size=3x5 stride=2x1 pad=1,1,2,2 dilation=1x2 groups=2 nobias relu "
                       "round=floor algo=im2col\n"
                       "conv c2 < data filters=4 size=3 algo=gemm1x1\n"
                       "local l1 < data filters=4 size=3 stride=1 pad=1x2 dilation=2 nobias relu round=ceil\n"
                       "pool p1 < data avg size=2 stride=2 pad=1 round=ceil exclude_pad\n"
                       "pool p2 < data l2 size=3x2\n"
                       "pool p3 < data max size=2 stride=2\n"
                       "pool p4 < data size=2 stride=2\n"
                       "lrn n1 < data size=5 alpha=1e-4 beta=0.75 k=2 alpha_mode=raw\n"
                       "lrn n2 < data size=4 alpha=0.0001 beta=.75 k=1 alpha_mode=over_size\n"
                       "batchnorm bn1 < data eps=0.001 momentum=0.01\n"
                       "batchnorm bn2 < data\n"
                       "fc f1 < data outputs=10 nobias relu\n"
                       "fc f2 < data outputs=3\n"
                       "softmax s < f1\n"
                       "dropout d < f1 p=0.25\n"
                       "add a < data data data\n"
                       "concat cc < data r\n"
                       "gap gp < data\n"
                       "relu r < data\n";
    cly_graph *g;
    ASSERT_OK(parse(text, &g));
    ck_assert_uint_eq(cly_graph_layer_count(g), 20);
    const cly_node *n = node(g, "data");
    ck_assert(n->layer.p.input.c == 8 && n->layer.p.input.h == 32 && n->layer.p.input.w == 30);
    ck_assert_int_eq(n->line, 2);
    const cly_conv_params *c = &node(g, "c1")->layer.p.conv;
    ck_assert(c->filters == 8 && c->size.h == 3 && c->size.w == 5 && c->stride.h == 2 && c->stride.w == 1);
    ck_assert(c->pad.top == 1 && c->pad.bottom == 1 && c->pad.left == 2 && c->pad.right == 2);
    ck_assert(c->dilation.h == 1 && c->dilation.w == 2 && c->groups == 2 && c->no_bias && c->relu);
    ck_assert(c->rounding == CLY_ROUND_FLOOR && c->algo == CLY_CONV_IM2COL);
    c = &node(g, "c2")->layer.p.conv;
    ck_assert(c->size.h == 3 && c->size.w == 3 && c->stride.h == 1 && c->groups == 1 && !c->no_bias && !c->relu);
    ck_assert(c->rounding == CLY_ROUND_EXACT && c->algo == CLY_CONV_GEMM1X1 && c->pad.top == 0);
    c = &node(g, "l1")->layer.p.conv;
    ck_assert(c->pad.top == 1 && c->pad.bottom == 1 && c->pad.left == 2 && c->pad.right == 2);
    ck_assert(c->dilation.h == 2 && c->dilation.w == 2 && c->no_bias && c->relu && c->rounding == CLY_ROUND_CEIL);
    ck_assert_int_eq(node(g, "l1")->layer.type, CLY_LAYER_LOCAL);
    const cly_pool_params *p = &node(g, "p1")->layer.p.pool;
    ck_assert(p->kind == CLY_POOL_AVG && p->size.h == 2 && p->stride.w == 2 && p->pad.left == 1);
    ck_assert(p->rounding == CLY_ROUND_CEIL && p->avg_exclude_pad);
    p = &node(g, "p2")->layer.p.pool;
    ck_assert(p->kind == CLY_POOL_L2 && p->size.h == 3 && p->size.w == 2 && p->stride.h == 1 && !p->avg_exclude_pad);
    ck_assert(node(g, "p3")->layer.p.pool.kind == CLY_POOL_MAX);
    ck_assert(node(g, "p4")->layer.p.pool.kind == CLY_POOL_MAX);
    const cly_lrn_params *l = &node(g, "n1")->layer.p.lrn;
    ck_assert(l->size == 5 && l->alpha == 1e-4 && l->beta == 0.75 && l->k == 2 && l->alpha_mode == CLY_LRN_ALPHA_RAW);
    l = &node(g, "n2")->layer.p.lrn;
    ck_assert(l->size == 4 && l->alpha == 1e-4 && l->beta == 0.75 && l->k == 1 &&
              l->alpha_mode == CLY_LRN_ALPHA_OVER_SIZE);
    const cly_batchnorm_params *b = &node(g, "bn1")->layer.p.batchnorm;
    ck_assert(b->epsilon == 0.001 && b->momentum == 0.01);
    b = &node(g, "bn2")->layer.p.batchnorm;
    ck_assert(b->epsilon == 1e-5 && b->momentum == 0.1);
    const cly_fc_params *f = &node(g, "f1")->layer.p.fc;
    ck_assert(f->outputs == 10 && f->no_bias && f->relu);
    f = &node(g, "f2")->layer.p.fc;
    ck_assert(f->outputs == 3 && !f->no_bias && !f->relu);
    ck_assert(node(g, "d")->layer.p.dropout == 0.25);
    ck_assert_uint_eq(node(g, "a")->layer.input_count, 3);
    ck_assert_str_eq(node(g, "cc")->layer.inputs[1], "r");
    ck_assert_int_eq(node(g, "r")->line, 21);

    ASSERT_OK(cly_graph_infer(g, 1));
    /* H (32 - 3 + 2*1)/2 + 1 = 16.5 floored; W dilated 5 taps by 2 span 9: (30 - 9 + 2*2)/1 + 1 = 26 */
    assert_shape(info_of(g, "c1").output, 1, 8, 16, 26);
    ck_assert(info_of(g, "c1").rounded);
    ck_assert_int_eq(info_of(g, "c1").weights, 8 * 4 * 3 * 5);
    assert_shape(info_of(g, "p1").output, 1, 8, 17, 16);
    assert_shape(info_of(g, "p2").output, 1, 8, 30, 29);
    assert_shape(info_of(g, "cc").output, 1, 16, 32, 30);
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_lexical)
{
    /* Comments (also after tokens), blank lines, tabs, CRLF, no final newline. */
    const char *text = "  # leading comment\r\n"
                       "\r\n"
                       "input\tdata c=3 h=4 w=4   # trailing comment\r\n"
                       "\t\n"
                       "relu r1 < data#glued comment\n"
                       "relu r2 < r1";
    cly_graph *g;
    ASSERT_OK(parse(text, &g));
    ck_assert_uint_eq(cly_graph_layer_count(g), 3);
    ck_assert_int_eq(node(g, "data")->line, 3);
    ck_assert_str_eq(node(g, "r1")->layer.inputs[0], "data");
    ck_assert_int_eq(node(g, "r2")->line, 6);
    ASSERT_OK(cly_graph_infer(g, 1));
    cly_graph_destroy(g);

    /* An explicit size: bytes after it are not read. */
    const char *two = "input a c=1 h=1 w=1\ninput b c=1 h=1 w=1\n";
    ASSERT_OK(cly_graph_parse(two, 20, "t.net", &g));
    ck_assert_uint_eq(cly_graph_layer_count(g), 1);
    cly_graph_destroy(g);

    /* NULL source names "<net>". */
    ASSERT_FAIL(cly_graph_parse("bogus", 5, NULL, &g), CLY_ERROR_INVALID_ARGUMENT,
                "<net>:1: unknown layer type 'bogus' (types: input conv local relu pool lrn batchnorm fc softmax "
                "dropout add concat gap adaptive_avgpool)");
    ck_assert_int_eq(cly_graph_parse(NULL, 3, "x", &g), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_graph_parse("input", 5, "x", NULL), CLY_ERROR_INVALID_ARGUMENT);
}
END_TEST

/* Layers may come in any order; inference sorts them. */
START_TEST(t_forward_references)
{
    const char *text = "softmax prob < fc\n"
                       "fc fc < pool outputs=10\n"
                       "pool pool < conv max size=2 stride=2\n"
                       "conv conv < data filters=4 size=3 pad=1 relu\n"
                       "input data c=3 h=8 w=8\n";
    cly_graph *g;
    ASSERT_OK(parse(text, &g));
    ASSERT_OK(cly_graph_infer(g, 1));
    static const char *const order[] = {"data", "conv", "pool", "fc", "prob"};
    for (size_t i = 0; i < 5; i++) {
        cly_layer_info info;
        ASSERT_OK(cly_graph_layer_info(g, i, &info));
        ck_assert_str_eq(info.name, order[i]);
    }
    ck_assert_int_eq(info_of(g, "fc").weights, 10 * 4 * 4 * 4);
    cly_graph_destroy(g);
}
END_TEST

/* Inference errors of a parsed graph carry the layer's line. */
START_TEST(t_infer_errors_have_lines)
{
    cly_graph *g;
    ASSERT_OK(parse("input data c=16 h=7 w=7\n\npool pool2 < data max size=2 stride=2\n", &g));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                "t.net:3: pool2: (W - F)/S + 1 = (7 - 2)/2 + 1 = 3.5 is not an integer");
    cly_graph_destroy(g);
    ASSERT_OK(parse(HEAD "relu r < nope\n", &g));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                "t.net:2: r: input 'nope' is not a layer of the graph");
    cly_graph_destroy(g);
    ASSERT_OK(parse(HEAD "relu a < b\nrelu b < a\n", &g));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT, "t.net:2: a: the layer is on a cycle: a -> b -> a");
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_bad_lines)
{
    PARSE_FAIL(HEAD "convolution c1 < data", "t.net:2: unknown layer type 'convolution' (types: input conv local relu pool "
                                             "lrn batchnorm fc softmax dropout add concat gap adaptive_avgpool)");
    PARSE_FAIL(HEAD "relu", "t.net:2: relu: missing the layer name");
    PARSE_FAIL(HEAD "conv c1 data filters=1 size=1",
               "t.net:2: conv c1: expected '<' and the input after the name: conv NAME < INPUT ...");
    PARSE_FAIL(HEAD "relu r <", "t.net:2: relu r: needs at least 1 input after '<'");
    PARSE_FAIL(HEAD "add s < data", "t.net:2: add s: needs at least 2 inputs after '<'");
    PARSE_FAIL("input data < x c=1 h=1 w=1", "t.net:1: input data: an input layer takes no inputs");
    PARSE_FAIL(HEAD "relu r < data data", "t.net:2: relu r: unknown key 'data' (relu takes max= slope=)");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3 foo=1",
               "t.net:2: conv c1: unknown key 'foo' (conv takes filters= size= stride= pad= dilation= groups= nobias "
               "relu round= algo=)");
    PARSE_FAIL(HEAD "pool p < data max size=2 filters=3",
               "t.net:2: pool p: unknown key 'filters' (pool takes size= stride= pad= round= max avg l2 exclude_pad)");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3 size=5", "t.net:2: conv c1: size is given twice");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3 relu relu", "t.net:2: conv c1: relu is given twice");
    PARSE_FAIL(HEAD "conv c1 < data filters=abc size=3", "t.net:2: conv c1: filters: 'abc' is not an integer");
    PARSE_FAIL(HEAD "conv c1 < data filters=+4 size=3", "t.net:2: conv c1: filters: '+4' is not an integer");
    PARSE_FAIL(HEAD "conv c1 < data filters=4.0 size=3", "t.net:2: conv c1: filters: '4.0' is not an integer");
    PARSE_FAIL(HEAD "conv c1 < data filters=2147483648 size=3",
               "t.net:2: conv c1: filters: 2147483648 is out of range (at most 2147483647)");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3 pad=-2147483648",
               "t.net:2: conv c1: pad: -2147483648 is out of range (at most 2147483647)");
    PARSE_FAIL(HEAD "conv c1 < data filters=99999999999999999999999999999999999 size=3",
               "t.net:2: conv c1: filters: 99999999999999999999999999999999999 is out of range (at most 2147483647)");
    PARSE_FAIL(HEAD "conv c1 < data filters= size=3", "t.net:2: conv c1: filters needs a value: filters=...");
    PARSE_FAIL(HEAD "conv c1 < data filters size=3", "t.net:2: conv c1: filters needs a value: filters=...");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3 relu=1", "t.net:2: conv c1: relu is a flag and takes no value");
    PARSE_FAIL(HEAD "conv c1 < data size=3", "t.net:2: conv c1: missing filters=");
    PARSE_FAIL("input data c=3 h=4", "t.net:1: input data: missing w=");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3x", "t.net:2: conv c1: size: '' is not an integer");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=x3", "t.net:2: conv c1: size: '' is not an integer");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3x3x3", "t.net:2: conv c1: size: '3x3' is not an integer");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3 pad=1,2,3",
               "t.net:2: conv c1: pad=1,2,3: give pad=P, pad=PHxPW or pad=TOP,BOTTOM,LEFT,RIGHT");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3 pad=1,2,3,4,5",
               "t.net:2: conv c1: pad=1,2,3,4,5: give pad=P, pad=PHxPW or pad=TOP,BOTTOM,LEFT,RIGHT");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3 pad=1,,2,3", "t.net:2: conv c1: pad: '' is not an integer");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3 round=up", "t.net:2: conv c1: round=up: expected exact|floor|ceil");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3 algo=fft",
               "t.net:2: conv c1: algo=fft: expected auto|direct|im2col|gemm1x1|winograd|tiled");
    PARSE_FAIL(HEAD "lrn n < data size=3x3 alpha=1 beta=1 k=1",
               "t.net:2: lrn n: size=3x3: an lrn window is one number of channels");
    PARSE_FAIL(HEAD "lrn n < data size=3 alpha=1 beta=1 k=1 alpha_mode=paper",
               "t.net:2: lrn n: alpha_mode=paper: expected over_size|raw");
    PARSE_FAIL(HEAD "lrn n < data size=3 alpha=nan beta=1 k=1", "t.net:2: lrn n: alpha=nan is not a finite decimal number");
    PARSE_FAIL(HEAD "lrn n < data size=3 alpha=1e999 beta=1 k=1",
               "t.net:2: lrn n: alpha=1e999 is not a finite decimal number");
    PARSE_FAIL(HEAD "lrn n < data size=3 alpha=1 beta=1..5 k=1", "t.net:2: lrn n: beta=1..5 is not a finite decimal number");
    PARSE_FAIL(HEAD "dropout d < data p=0x1p-3", "t.net:2: dropout d: p=0x1p-3 is not a finite decimal number");
    PARSE_FAIL(HEAD "pool p < data max avg size=2", "t.net:2: pool p: give one pool kind (max, avg or l2), not two");
    PARSE_FAIL(HEAD "pool p < data max size=2 exclude_pad", "t.net:2: pool p: exclude_pad applies to avg pooling only");
    PARSE_FAIL(HEAD "pool p < data exclude_pad size=2", "t.net:2: pool p: exclude_pad applies to avg pooling only");
}
END_TEST

/* Range checks of cly_graph_add come back with the line. */
START_TEST(t_add_errors_have_lines)
{
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3 pad=-1", "t.net:2: c1: pad.top = -1 must be >= 0");
    PARSE_FAIL(HEAD "conv c1 < data filters=4 size=3 stride=-1", "t.net:2: c1: stride.h = -1 must be >= 1 (0 means 1)");
    PARSE_FAIL(HEAD "fc f < data outputs=0", "t.net:2: f: outputs = 0 must be >= 1");
    PARSE_FAIL(HEAD "dropout d < data p=1", "t.net:2: d: dropout probability p = 1 must be in [0, 1)");
    PARSE_FAIL(HEAD "relu data < data", "t.net:2: data: a layer of that name is already in the graph");
    PARSE_FAIL(HEAD "relu r < a@b", "t.net:2: r: input 1 name 'a@b' may only hold A-Z a-z 0-9 _ . / -");
    PARSE_FAIL(HEAD "relu r\xff < data", "t.net:2: relu layer name 'r\\xff' may only hold A-Z a-z 0-9 _ . / -");
    PARSE_FAIL(HEAD "relu aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa < data",
               "t.net:2: relu layer name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is longer than "
               "63 characters");
    /* stride=0 means 1, as in the C API */
    cly_graph *g;
    ASSERT_OK(parse(HEAD "conv c < data filters=1 size=1 stride=0", &g));
    ck_assert_int_eq(node(g, "c")->layer.p.conv.stride.h, 1);
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_hostile_bytes)
{
    static const char nul[] = "input data c=3\0 h=1 w=1\n";
    cly_graph *g = NULL;
    ASSERT_FAIL(cly_graph_parse(nul, sizeof nul - 1, "t.net", &g), CLY_ERROR_INVALID_ARGUMENT,
                "t.net:1: NUL byte in column 15");
    static const char nul_comment[] = "# a \0 in a comment\n";
    ASSERT_FAIL(cly_graph_parse(nul_comment, sizeof nul_comment - 1, "t.net", &g), CLY_ERROR_INVALID_ARGUMENT,
                "t.net:1: NUL byte in column 5");
    PARSE_FAIL(HEAD "relu r\x01 < data", "t.net:2: control character 0x01 in column 7");
    PARSE_FAIL(HEAD "relu r\r < data", "t.net:2: control character 0x0d in column 7");
    PARSE_FAIL(HEAD "relu r < data\x7f", "t.net:2: control character 0x7f in column 14");
    PARSE_FAIL("", "t.net: no layers");
    PARSE_FAIL("# only a comment\n\n", "t.net: no layers");
    ck_assert_ptr_null(g);
}
END_TEST

START_TEST(t_limits)
{
    /* A line of 16384 bytes is fine, one more is not. */
    size_t n = 16384;
    char *text = malloc(n + 64);
    snprintf(text, n + 64, "input data c=1 h=1 w=1");
    memset(text + strlen(text), ' ', n - strlen(text));
    text[n] = '\0';
    cly_graph *g;
    ASSERT_OK(parse(text, &g));
    cly_graph_destroy(g);
    text[n] = ' ';
    text[n + 1] = '\0';
    PARSE_FAIL(text, "t.net:1: the line is longer than 16384 bytes");
    free(text);

    /* 256 inputs are fine, 257 are not. */
    size_t size = 1 << 16;
    text = malloc(size);
    for (int count = 256; count <= 257; count++) {
        int o = snprintf(text, size, HEAD "concat cat <");
        for (int i = 0; i < count; i++)
            o += snprintf(text + o, size - (size_t)o, " data");
        if (count == 256) {
            ASSERT_OK(parse(text, &g));
            ASSERT_OK(cly_graph_infer(g, 1));
            assert_shape(info_of(g, "cat").output, 1, 8 * 256, 16, 16);
            cly_graph_destroy(g);
        } else {
            PARSE_FAIL(text, "t.net:2: more than 256 inputs or tokens on one line");
        }
    }
    free(text);

    /* 100,000 layers are fine, one more is not. */
    size = 32 * 100002;
    text = malloc(size);
    int o = snprintf(text, size, "input d c=1 h=1 w=1\nrelu r1 < d\n");
    for (int i = 2; i < 100000; i++)
        o += snprintf(text + o, size - (size_t)o, "relu r%d < r%d\n", i, i - 1);
    ASSERT_OK(parse(text, &g));
    ck_assert_uint_eq(cly_graph_layer_count(g), 100000);
    ASSERT_OK(cly_graph_infer(g, 1));
    cly_layer_info last;
    ASSERT_OK(cly_graph_layer_info(g, 99999, &last));
    ck_assert_str_eq(last.name, "r99999");
    cly_graph_destroy(g);
    snprintf(text + o, size - (size_t)o, "relu extra < d\n");
    PARSE_FAIL(text, "t.net:100001: more than 100000 layers");
    free(text);

    /* More than 16 MiB of text. */
    size = ((size_t)16 << 20) + 1;
    text = malloc(size);
    memset(text, '\n', size);
    ASSERT_FAIL(cly_graph_parse(text, size, "t.net", &g), CLY_ERROR_INVALID_ARGUMENT,
                "t.net: the net text is 16777217 bytes, more than 16777216");
    free(text);
}
END_TEST

START_TEST(t_load)
{
    cly_graph *g = NULL;
    ASSERT_FAIL(cly_graph_load("/nonexistent/x.net", &g), CLY_ERROR_IO,
                "/nonexistent/x.net: cannot open: No such file or directory");
    ASSERT_FAIL(cly_graph_load("/", &g), CLY_ERROR_IO, "/: not a regular file (a directory)");
    ck_assert_int_eq(cly_graph_load(NULL, &g), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(g);

    char path[] = "/tmp/clayer-netfile-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "wb");
    fputs("input data c=3 h=8 w=8\nbogus x\n", f);
    fclose(f);
    char want[512];
    snprintf(want, sizeof want, "%s:2: unknown layer type 'bogus' (types: input conv local relu pool lrn batchnorm fc "
                                "softmax dropout add concat gap adaptive_avgpool)",
             path);
    ASSERT_FAIL(cly_graph_load(path, &g), CLY_ERROR_INVALID_ARGUMENT, want);

    f = fopen(path, "wb");
    for (size_t i = 0; i < ((size_t)16 << 20) / 16 + 1; i++)
        fputs("# fifteen bytes\n", f);
    fclose(f);
    snprintf(want, sizeof want, "%s: the file is 16777232 bytes, more than a net file holds (16777216)", path);
    ASSERT_FAIL(cly_graph_load(path, &g), CLY_ERROR_INVALID_ARGUMENT, want);
    unlink(path);
}
END_TEST

/* Mutated copies of a real net: every outcome is a status, never a crash
 * (the libFuzzer harness does this at scale). */
START_TEST(t_mutations)
{
    cly_graph *g;
    FILE *f = fopen(CLY_NETS_DIR "/resnet18.net", "rb");
    ck_assert_ptr_nonnull(f);
    static char base[1 << 16];
    size_t size = fread(base, 1, sizeof base, f);
    fclose(f);
    static char text[1 << 16];
    uint64_t state = 12345;
    int ok = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(text, base, size);
        size_t len = size;
        for (int m = 0; m < 1 + iter % 4; m++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(state >> 33) % len;
            static const char bytes[] = "0123456789<=#x, \n\t-azXY.\0\r\xff";
            text[at] = bytes[(state >> 20) % (sizeof bytes - 1)];
        }
        if (cly_graph_parse(text, len, "m.net", &g) == CLY_SUCCESS) {
            if (cly_graph_infer(g, 1) == CLY_SUCCESS) {
                FILE *null = fopen("/dev/null", "w");
                ASSERT_OK(cly_graph_print_summary(g, null));
                fclose(null);
                ok++;
            }
            cly_graph_destroy(g);
        } else {
            ck_assert_msg(strncmp(cly_last_error(NULL), "m.net:", 6) == 0, "%s", cly_last_error(NULL));
        }
    }
    ck_assert_int_gt(ok, 0);
}
END_TEST

static Suite *netfile_suite(void)
{
    Suite *s = suite_create("netfile");
    TCase *tc = tcase_create("netfile");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_every_key);
    tcase_add_test(tc, t_lexical);
    tcase_add_test(tc, t_forward_references);
    tcase_add_test(tc, t_infer_errors_have_lines);
    tcase_add_test(tc, t_bad_lines);
    tcase_add_test(tc, t_add_errors_have_lines);
    tcase_add_test(tc, t_hostile_bytes);
    tcase_add_test(tc, t_limits);
    tcase_add_test(tc, t_load);
    tcase_add_test(tc, t_mutations);
    suite_add_tcase(s, tc);
    return s;
}

RUN_SUITE(netfile_suite)
