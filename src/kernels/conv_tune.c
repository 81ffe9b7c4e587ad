/* The autotuner's shape keys and the lookup AUTO and the direct kernel make
 * in the context's tuning table (runtime/tuning_file.h), and the text that
 * tables show for a tuned layer. */
#include "kernels/conv_internal.h"
#include "runtime/tuning_file.h"

#include <stdio.h>
#include <string.h>

void cly_conv_tune_key(const cly_context *ctx, const cly_conv_geom *g, char *key, size_t size)
{
    /* benchdnn's descriptor letters, every side of the padding spelt out;
     * bias and ReLU are left out: they change the epilogue, not the tile. */
    snprintf(key, size, "%smb%lldg%lldic%lldih%lldiw%lldoc%lldkh%lldkw%lldsh%lldsw%lldpt%lldpb%lldpl%lldpr%lld"
             "dh%llddw%lld",
             ctx->precision == CLY_PRECISION_FLOAT64 ? "f64:" : "", (long long)g->n, (long long)g->groups,
             (long long)g->c, (long long)g->h, (long long)g->w, (long long)g->k, (long long)g->fh, (long long)g->fw,
             (long long)g->sh, (long long)g->sw, (long long)g->pt, (long long)g->pb, (long long)g->pl,
             (long long)g->pr, (long long)g->dh, (long long)g->dw);
}

const cly_tuned_entry *cly_conv_tuned(const cly_context *ctx, const cly_conv_geom *g)
{
    if (!ctx->tuned || ctx->tuned->count == 0)
        return NULL;
    char key[CLY_CONV_KEY_MAX];
    cly_conv_tune_key(ctx, g, key, sizeof key);
    return cly_tuned_find(ctx, key);
}

void cly_conv_config_text(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, char *text,
                          size_t size)
{
    if (algo == CLY_CONV_TILED) {
        const cly_tiled_tile t = cly_conv_tiled_tile(ctx, g);
        snprintf(text, size, "tiled %dx%dx%d wg%dx%d tk%d", t.vw, t.rm, t.rn, t.wn, t.wm, t.tk);
        return;
    }
    if (algo != CLY_CONV_DIRECT) {
        snprintf(text, size, "%s", cly_conv_algo_string(algo));
        return;
    }
    cly_conv_direct_text(ctx, g, text, size);
}

bool cly_conv_tuned_text(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, char *text, size_t size)
{
    const cly_tuned_entry *e = cly_conv_tuned(ctx, g);
    if (!e || e->algo != algo)
        return false;
    cly_conv_config_text(ctx, algo, g, text, size);
    size_t n = strlen(text);
    snprintf(text + n, size - n, " (tuned)");
    return true;
}
