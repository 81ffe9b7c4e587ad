#!/bin/sh
# The clayer command-line tool: exit codes and what it prints.
# usage: cli_test.sh PATH/TO/clayer   (exits 77, skipped, without OpenCL)
set -u
clayer=${1:?usage: cli_test.sh PATH/TO/clayer}
work=$(mktemp -d "${TMPDIR:-/tmp}/clayer-cli-test-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run NAME CMD...: runs CMD with stdout/stderr in $work/NAME.out/.err and
# sets $rc.
run() {
    tag=$1
    shift
    "$@" >"$work/$tag.out" 2>"$work/$tag.err"
    rc=$?
}

run devices "$clayer" devices
if [ $rc -ne 0 ] && grep -q "no OpenCL platform" "$work/devices.err"; then
    echo "skipping: no OpenCL platform" >&2
    exit 77
fi
[ $rc -eq 0 ] || fail "clayer devices exited $rc: $(cat "$work/devices.err")"
grep -q "(default)" "$work/devices.out" || fail "clayer devices marks no default device"

run json "$clayer" devices --json
[ $rc -eq 0 ] || fail "clayer devices --json exited $rc"
python3 -m json.tool "$work/json.out" >/dev/null 2>&1 || fail "clayer devices --json is not valid JSON"
# The first device's name, from the JSON, must be in the text listing too.
name=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["devices"][0]["name"])' "$work/json.out")
[ -n "$name" ] || fail "no device name in the JSON"
grep -qF "$name" "$work/devices.out" || fail "'$name' missing from clayer devices"

run demo "$clayer" demo
[ $rc -eq 0 ] || fail "clayer demo exited $rc: $(cat "$work/demo.err")"
grep -q "equal the CPU reference exactly" "$work/demo.out" || fail "clayer demo did not match the reference"

run nodev "$clayer" demo --device nosuchdevice
[ $rc -ne 0 ] || fail "clayer demo --device nosuchdevice exited 0"
grep -qF "$name" "$work/nodev.err" || fail "the error for nosuchdevice does not list '$name'"
grep -q "nosuchdevice" "$work/nodev.err" || fail "the error does not name the selector"

run badsel "$clayer" demo --device 'gpu:'
[ $rc -ne 0 ] || fail "clayer demo --device 'gpu:' exited 0"
grep -q "malformed" "$work/badsel.err" || fail "no 'malformed' in: $(cat "$work/badsel.err")"

run noplat env OCL_ICD_VENDORS=/nonexistent "$clayer" devices
[ $rc -ne 0 ] || fail "clayer devices without platforms exited 0"
grep -q "no OpenCL platform" "$work/noplat.err" || fail "no 'no OpenCL platform' in: $(cat "$work/noplat.err")"

run unknown "$clayer" frobnicate
[ $rc -eq 2 ] || fail "unknown command exited $rc, want 2"
grep -q "unknown command 'frobnicate'" "$work/unknown.err" || fail "unknown command not named"
run usage "$clayer"
[ $rc -eq 2 ] || fail "no command exited $rc, want 2"
run badopt "$clayer" devices --yaml
[ $rc -eq 2 ] || fail "unknown option exited $rc, want 2"

run version "$clayer" version
[ $rc -eq 0 ] && grep -q "^clayer [0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*$" "$work/version.out" ||
    fail "clayer version: rc $rc, '$(cat "$work/version.out")'"

# Built-in nets by name (no such file here): the model zoo's published totals.
for net in "resnet50 25,557,032" "googlenet-tv 6,624,904" "zfnet 62,357,608"; do
    set -- $net
    run "summary-$1" "$clayer" summary "$1"
    [ $rc -eq 0 ] || fail "clayer summary $1 exited $rc: $(cat "$work/summary-$1.err")"
    grep -q "= $2 parameters" "$work/summary-$1.out" || fail "clayer summary $1 does not print $2 parameters"
done
run nonet "$clayer" summary nosuchnet
[ $rc -ne 0 ] || fail "clayer summary nosuchnet exited 0"
grep -q "built-in nets: .*resnet50" "$work/nonet.err" || fail "clayer summary nosuchnet does not list the built-in nets"

# clayer bench in both modes: the JSON parses, follows docs/bench-format.md
# and holds every layer of the net.
run layers "$clayer" summary lenet
for mode in infer train; do
    run "bench_$mode" "$clayer" bench lenet --batch 2 --runs 2 --mode $mode --json "$work/$mode.json"
    [ $rc -eq 0 ] || fail "clayer bench --mode $mode exited $rc: $(cat "$work/bench_$mode.err")"
    grep -q "images/s" "$work/bench_$mode.out" || fail "clayer bench --mode $mode printed no totals"
    python3 - "$work/$mode.json" "$mode" "$work/layers.out" <<'PY' || fail "clayer bench --mode $mode: bad JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "clayer-bench" and d["schema_version"] == 1, d.get("schema")
assert d["mode"] == sys.argv[2] and d["batch"] == 2 and d["runs"] == 2 and d["net"] == "lenet"
for k in ("name", "driver_version", "platform", "vendor", "type"):
    assert isinstance(d["device"][k], str), k
assert d["host"]["cpu_model"] and isinstance(d["host"]["isa"], str), d["host"]
if open("/proc/cpuinfo").read().find("model name") >= 0:
    assert d["host"]["cpu_model"] != "unknown", d["host"]
assert d["warmup"]["first_run_ms"] > 0
names = [l["name"] for l in d["layers"]]
# The layers of the summary's table (between its two rules), in its order.
lines = open(sys.argv[3]).read().split("\n")
rules = [i for i, line in enumerate(lines) if line.startswith("----")]
want = [line.split()[0] for line in lines[rules[0] + 1:rules[1]]]
assert len(want) == 9 and names == want, (names, want)
for l in d["layers"]:
    assert l["median_ms"] >= 0 and 0 <= l["share"] <= 1, l
    assert (l["algo"] is not None) == (l["type"] == "conv"), l
t = d["totals"]
assert t["median_ms"] > 0 and t["images_per_s"] > 0 and t["peak_memory_bytes"] > 0
assert (t["training_bytes"] > 0) == (sys.argv[2] == "train")
PY
done

run compare "$clayer" compare "$work/infer.json" "$work/train.json" --svg "$work/chart.svg"
[ $rc -eq 0 ] || fail "clayer compare exited $rc: $(cat "$work/compare.err")"
grep -q "^c3 " "$work/compare.out" || fail "clayer compare has no row for c3"
grep -q "^total (ms/batch)" "$work/compare.out" || fail "clayer compare has no total row"
grep -q "B/A" "$work/compare.out" || fail "clayer compare has no ratio column"
grep -q "^A: .*host CPU " "$work/compare.out" || fail "clayer compare does not name the host CPU"
# A file from before "host" was recorded still compares.
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); del d["host"]; json.dump(d, open(sys.argv[2], "w"))' \
    "$work/infer.json" "$work/old.json"
run compare_old "$clayer" compare "$work/old.json" "$work/infer.json"
[ $rc -eq 0 ] && grep -q "^total (ms/batch)" "$work/compare_old.out" ||
    fail "clayer compare on a file without \"host\": rc $rc, $(cat "$work/compare_old.err")"
python3 -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); assert d.documentElement.tagName == "svg"
assert len(d.getElementsByTagName("rect")) > 9' "$work/chart.svg" || fail "clayer compare --svg: not a well-formed SVG"

printf '{"schema": "clayer-bench", "schema_version": 1, "layers": [' >"$work/cut.json"
run cut "$clayer" compare "$work/infer.json" "$work/cut.json"
[ $rc -eq 1 ] || fail "clayer compare on truncated JSON exited $rc, want 1"
grep -q "cut.json: line 1, column" "$work/cut.err" || fail "no position in: $(cat "$work/cut.err")"
echo '{"schema": "clayer-bench", "schema_version": 1}' >"$work/partial.json"
run partial "$clayer" compare "$work/partial.json"
[ $rc -eq 1 ] && grep -q "partial.json" "$work/partial.err" || fail "clayer compare on a partial file: rc $rc"
run badmode "$clayer" bench lenet --mode fly
[ $rc -eq 2 ] || fail "clayer bench --mode fly exited $rc, want 2"

# ONNX models: small ones from the fuzz corpus (no torch needed). run uses
# the file's weights and gives the same outputs as the model file that
# clayer import writes; import's errors name the file and the reason.
corpus=$(cd "$(dirname "$0")/.." && pwd)/fuzz/corpus/onnx
run onnx_run "$clayer" run "$corpus/conv_bn_relu.onnx" --runs 1 --batch 2
[ $rc -eq 0 ] || fail "clayer run conv_bn_relu.onnx exited $rc: $(cat "$work/onnx_run.err")"
grep -q "^weights: the ONNX file's" "$work/onnx_run.out" || fail "clayer run MODEL.onnx does not say whose weights: $(cat "$work/onnx_run.out")"
run import "$clayer" import "$corpus/conv_bn_relu.onnx" -o "$work/conv_bn_relu.clym" --batch 2
[ $rc -eq 0 ] || fail "clayer import exited $rc: $(cat "$work/import.err")"
run import_run "$clayer" run "$work/conv_bn_relu.clym" --runs 1 --batch 2
[ $rc -eq 0 ] || fail "clayer run on the imported model exited $rc: $(cat "$work/import_run.err")"
grep -q "^weights: the model file's" "$work/import_run.out" || fail "clayer run MODEL.clym: $(cat "$work/import_run.out")"
[ "$(grep '^output' "$work/onnx_run.out")" = "$(grep '^output' "$work/import_run.out")" ] ||
    fail "the imported model's outputs differ from the ONNX file's"
# --fold-bn (a global flag): the batch norm folded into the conv, same output to rounding.
run fold_summary "$clayer" summary "$corpus/conv_bn_relu.onnx" --fold-bn
[ $rc -eq 0 ] && grep -q "^clayer net summary: 3 layers" "$work/fold_summary.out" &&
    ! grep -q "^bn  *batchnorm" "$work/fold_summary.out" || fail "clayer summary --fold-bn: rc $rc, $(cat "$work/fold_summary.out")"
run fold_run "$clayer" --fold-bn run "$corpus/conv_bn_relu.onnx" --runs 1 --batch 2
[ $rc -eq 0 ] && [ "$(grep '^output' "$work/onnx_run.out" | cut -c1-40)" = "$(grep '^output' "$work/fold_run.out" | cut -c1-40)" ] ||
    fail "clayer --fold-bn run: rc $rc, $(cat "$work/fold_run.out" "$work/fold_run.err")"
run import_bench "$clayer" bench "$corpus/conv_bn_relu.onnx" --runs 1 --warmup 1
[ $rc -eq 0 ] && grep -q "^weights: the ONNX file's" "$work/import_bench.out" ||
    fail "clayer bench MODEL.onnx: rc $rc, $(cat "$work/import_bench.err")"
run import_noout "$clayer" import "$corpus/conv_bn_relu.onnx"
[ $rc -eq 2 ] && grep -q "give -o OUT" "$work/import_noout.err" || fail "clayer import without -o: rc $rc"
run import_notonnx "$clayer" import "$work/devices.out" -o "$work/x.clym"
[ $rc -eq 1 ] && grep -q "devices.out: not a valid ONNX file" "$work/import_notonnx.err" ||
    fail "clayer import on a text file: rc $rc, $(cat "$work/import_notonnx.err")"
run import_unsupported "$clayer" import "$corpus/err_subgraph.onnx" -o "$work/x.clym"
[ $rc -eq 1 ] && grep -q "err_subgraph.onnx: node 0 (If, opset 13): .*clayer imports no control flow" \
    "$work/import_unsupported.err" || fail "clayer import on an If node: rc $rc, $(cat "$work/import_unsupported.err")"
run import_missing "$clayer" import "$work/missing.onnx" -o "$work/x.clym"
[ $rc -eq 1 ] && grep -q "missing.onnx: cannot open" "$work/import_missing.err" ||
    fail "clayer import on a missing file: rc $rc, $(cat "$work/import_missing.err")"
[ ! -e "$work/x.clym" ] || fail "a failed clayer import left $work/x.clym"

# clayer classify on images made with PIL (skipped without /usr/bin/python3's
# PIL) through a small 3-channel net with seeded weights: the text and JSON
# formats, --top, --labels, batching, a net without a final softmax, errors.
if /usr/bin/python3 -c 'import PIL' 2>/dev/null; then
    /usr/bin/python3 - "$work" <<'PY' || fail "could not make the classify images"
import sys
import numpy as np
from PIL import Image
d, rng = sys.argv[1], np.random.RandomState(3)
for name, (w, h), mode in [("a.png", (61, 47), "RGB"), ("b.jpg", (40, 70), "RGB"), ("c.png", (33, 33), "L"),
                           ("d.png", (90, 52), "RGBA")]:
    a = rng.randint(0, 256, (h, w, len(mode)), dtype=np.uint8)
    Image.fromarray(a[:, :, 0] if mode == "L" else a, mode).save(f"{d}/{name}")
open(f"{d}/not-an-image.png", "w").write("hello\n")
PY
    cat >"$work/tiny.net" <<'NET'
input data c=3 h=32 w=32
conv c1 < data filters=8 size=4 stride=2 pad=1 relu
gap g < c1
fc scores < g outputs=5
softmax prob < scores
NET
    grep -v softmax "$work/tiny.net" >"$work/logits.net"
    printf 'cat\ndog\nbird\nfish\nfrog\n' >"$work/labels.txt"
    imgs="$work/a.png $work/b.jpg $work/c.png $work/d.png"
    run classify "$clayer" classify "$work/tiny.net" $imgs --top 3 --labels "$work/labels.txt"
    [ $rc -eq 0 ] || fail "clayer classify exited $rc: $(cat "$work/classify.err")"
    python3 - "$work/classify.out" $imgs <<'PY' || fail "clayer classify: bad text output: $(cat "$work/classify.out")"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 4 * 4, lines
for i, image in enumerate(sys.argv[2:]):
    assert lines[4 * i] == image, (lines[4 * i], image)
    rows = [re.fullmatch(r"  (\d\.\d{6})  +(\d+)  (cat|dog|bird|fish|frog)", l) for l in lines[4 * i + 1:4 * i + 4]]
    assert all(rows), lines[4 * i + 1:4 * i + 4]
    p = [float(r.group(1)) for r in rows]
    assert p == sorted(p, reverse=True) and 0 < p[-1] and p[0] < 1, p
    names = "cat dog bird fish frog".split()
    assert all(names[int(r.group(2))] == r.group(3) for r in rows)
PY
    # JSON, every class: probabilities sum to 1; --batch 1, 3 (the last batch
    # padded) and the default agree; a net without the softmax gives the
    # same probabilities (the CLI applies it).
    for b in 1 3 default; do
        opt="--batch $b"
        [ $b = default ] && opt=""
        run "classify_json$b" "$clayer" classify "$work/tiny.net" $imgs --json $opt
        [ $rc -eq 0 ] || fail "clayer classify --json $opt exited $rc: $(cat "$work/classify_json$b.err")"
    done
    run classify_logits "$clayer" classify "$work/logits.net" $imgs --json --batch 2
    [ $rc -eq 0 ] || fail "clayer classify logits.net exited $rc: $(cat "$work/classify_logits.err")"
    python3 - "$work" $imgs <<'PY' || fail "clayer classify --json: outputs disagree or malformed"
import json, sys
w, imgs = sys.argv[1], sys.argv[2:]
runs = {k: json.load(open(f"{w}/classify_{k}.out")) for k in ("json1", "json3", "jsondefault", "logits")}
assert runs["json1"]["classes"] == 5 and runs["json1"]["softmax_applied"] is False
assert runs["logits"]["softmax_applied"] is True
for k, d in runs.items():
    assert [i["image"] for i in d["images"]] == imgs, k
    for i in d["images"]:
        assert len(i["top"]) == 5 and all(t["label"] is None for t in i["top"]), i
        assert abs(sum(t["probability"] for t in i["top"]) - 1) < 1e-5, i
def probs(d):
    return [{t["class"]: t["probability"] for t in i["top"]} for i in d["images"]]
ref = probs(runs["json1"])
for k in ("json3", "jsondefault", "logits"):
    for a, b in zip(ref, probs(runs[k])):
        assert all(abs(a[c] - b[c]) < 2e-6 for c in a), (k, a, b)
PY
    # An ONNX model (global_avg: 3 x 5 x 6 in, 3 x 1 x 1 out): no seeded-weights
    # warning; the same probabilities straight and through clayer import.
    run classify_onnx "$clayer" classify "$corpus/global_avg.onnx" $imgs --json --batch 3
    [ $rc -eq 0 ] || fail "clayer classify global_avg.onnx exited $rc: $(cat "$work/classify_onnx.err")"
    ! grep -q seeded "$work/classify_onnx.err" || fail "clayer classify MODEL.onnx warns of seeded weights"
    "$clayer" import "$corpus/global_avg.onnx" -o "$work/global_avg.clym" >/dev/null || fail "clayer import global_avg.onnx"
    run classify_clym "$clayer" classify "$work/global_avg.clym" $imgs --json
    [ $rc -eq 0 ] || fail "clayer classify global_avg.clym exited $rc: $(cat "$work/classify_clym.err")"
    python3 - "$work/classify_onnx.out" "$work/classify_clym.out" <<'PY' || fail "clayer classify: ONNX and imported model differ"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert a["classes"] == 3 and a["softmax_applied"] is True, a
assert [i["top"] for i in a["images"]] == [i["top"] for i in b["images"]], (a, b)
PY
    run classify_crop "$clayer" classify "$work/tiny.net" "$work/a.png" --crop 48x40 --resize 60 --mean 0.5,0.5,0.5 --std 0.25,0.25,0.25
    [ $rc -eq 0 ] || fail "clayer classify --crop 48x40 exited $rc: $(cat "$work/classify_crop.err")"
    run classify_bad "$clayer" classify "$work/tiny.net" "$work/a.png" "$work/not-an-image.png"
    [ $rc -eq 1 ] || fail "clayer classify on a non-image exited $rc, want 1"
    grep -q "not-an-image.png: not a PNG or JPEG image" "$work/classify_bad.err" ||
        fail "the non-image is not named: $(cat "$work/classify_bad.err")"
    [ ! -s "$work/classify_bad.out" ] || fail "clayer classify printed results before failing on a non-image"
    run classify_missing "$clayer" classify "$work/tiny.net" "$work/missing.png"
    [ $rc -eq 1 ] && grep -q "missing.png: cannot open" "$work/classify_missing.err" ||
        fail "clayer classify on a missing image: rc $rc, $(cat "$work/classify_missing.err")"
    printf 'cat\ndog\n' >"$work/short.txt"
    run classify_labels "$clayer" classify "$work/tiny.net" "$work/a.png" --labels "$work/short.txt"
    [ $rc -eq 1 ] && grep -q "has 2 labels; the net has 5 classes" "$work/classify_labels.err" ||
        fail "clayer classify with too few labels: rc $rc, $(cat "$work/classify_labels.err")"
    run classify_grey "$clayer" classify lenet "$work/a.png"
    [ $rc -eq 1 ] && grep -q "images need 3 channels" "$work/classify_grey.err" ||
        fail "clayer classify lenet: rc $rc, $(cat "$work/classify_grey.err")"
    run classify_mean "$clayer" classify "$work/tiny.net" "$work/a.png" --mean 1,2
    [ $rc -eq 2 ] || fail "clayer classify --mean 1,2 exited $rc, want 2"
    run classify_noimg "$clayer" classify "$work/tiny.net"
    [ $rc -eq 2 ] || fail "clayer classify without images exited $rc, want 2"
else
    echo "cli: clayer classify not checked: /usr/bin/python3 has no PIL (python3-pil)" >&2
fi

# clayer export: a model file (its trained weights) and a built-in net (seeded,
# said on stderr) to ONNX, read back by clayer summary; a local layer refused
# with no file left behind; usage errors.
models=$(dirname "$0")/../fuzz/corpus/model
run export_model "$clayer" export "$models/small.clm" -o "$work/small.onnx"
[ $rc -eq 0 ] && [ -s "$work/small.onnx" ] || fail "clayer export small.clm exited $rc: $(cat "$work/export_model.err")"
run export_summary "$clayer" summary "$work/small.onnx"
[ $rc -eq 0 ] || fail "clayer summary of the exported small.onnx exited $rc: $(cat "$work/export_summary.err")"
run export_net "$clayer" export lenet -o "$work/lenet.onnx" --seed 3
[ $rc -eq 0 ] && grep -q "seeded He initialisation (seed 3)" "$work/export_net.err" ||
    fail "clayer export lenet: rc $rc, $(cat "$work/export_net.err")"
run export_local "$clayer" export "$models/wide-sgd.clm" -o "$work/wide.onnx"
[ $rc -eq 1 ] && grep -q "l (local): a locally connected layer" "$work/export_local.err" && [ ! -e "$work/wide.onnx" ] ||
    fail "clayer export of a local layer: rc $rc, $(cat "$work/export_local.err")"
[ -z "$(find "$work" -name 'wide.onnx.tmp*')" ] || fail "clayer export left a temp file"
run export_noout "$clayer" export lenet
[ $rc -eq 2 ] && grep -q "no output file" "$work/export_noout.err" || fail "clayer export without -o: rc $rc"
run export_missing "$clayer" export "$work/missing.net" -o "$work/missing.onnx"
[ $rc -eq 1 ] && grep -q "missing.net" "$work/export_missing.err" && [ ! -e "$work/missing.onnx" ] ||
    fail "clayer export of a missing file: rc $rc, $(cat "$work/export_missing.err")"

# clayer tune: a tiny net in seconds into a tuning file of its own cache
# directory (the test env turns tuning off; this turns it on), written
# atomically; summary --compile and bench then say "(tuned)", and do not with
# CLAYER_TUNING=off; a corrupt file is ignored with a warning; usage errors.
cat >"$work/tune.net" <<'NET'
input data c=8 h=12 w=12
conv a < data filters=8 size=3 pad=1 relu
conv b < a filters=8 size=3 pad=1
conv c < b filters=4 size=1
NET
tunedir="$work/tunecache"
run tune env CLAYER_CACHE_DIR="$tunedir" CLAYER_TUNING=on "$clayer" tune "$work/tune.net" --budget 4 --runs 3
[ $rc -eq 0 ] || fail "clayer tune exited $rc: $(cat "$work/tune.err")"
grep -q "^tuning 2 convolution shapes" "$work/tune.out" || fail "clayer tune: not 2 distinct shapes: $(cat "$work/tune.out")"
tfile=$(sed -n 's/^tuning file: //p' "$work/tune.out")
[ -n "$tfile" ] && [ -f "$tfile" ] && grep -q "^clayer-tuning 1$" "$tfile" || fail "clayer tune wrote no tuning file ($tfile)"
[ "$(dirname "$tfile")" = "$tunedir" ] || fail "the tuning file $tfile is not in the cache directory $tunedir"
[ -z "$(find "$tunedir" -name '*.tmp*')" ] || fail "clayer tune left a temp file"
[ "$(grep -c '^mb1g1ic' "$tfile")" -eq 2 ] || fail "the tuning file has not 2 entries: $(cat "$tfile")"
run tune_summary env CLAYER_CACHE_DIR="$tunedir" CLAYER_TUNING=on "$clayer" summary "$work/tune.net" --compile
[ $rc -eq 0 ] && grep -q "^a .*(tuned)" "$work/tune_summary.out" ||
    fail "clayer summary --compile shows no tuned layer: $(cat "$work/tune_summary.out" "$work/tune_summary.err")"
run tune_bench env CLAYER_CACHE_DIR="$tunedir" CLAYER_TUNING=on "$clayer" bench "$work/tune.net" --runs 2 --warmup 1 \
    --json "$work/tune_bench.json" --compare-builtin
[ $rc -eq 0 ] && grep -q "^b .*(tuned)" "$work/tune_bench.out" && grep -q "^built-in table .*speed-up" "$work/tune_bench.out" ||
    fail "clayer bench shows no tuned layer: $(cat "$work/tune_bench.out" "$work/tune_bench.err")"
python3 - "$work/tune_bench.json" <<'PY' || fail "clayer bench --json: no tuned configuration for b"
import json, sys
layers = {l["name"]: l for l in json.load(open(sys.argv[1]))["layers"]}
assert layers["b"]["algo"] == "direct" and layers["b"]["tuned"].endswith("(tuned)"), layers["b"]
assert layers["data"]["tuned"] is None
PY
run tune_off env CLAYER_CACHE_DIR="$tunedir" CLAYER_TUNING=off "$clayer" summary "$work/tune.net" --compile
[ $rc -eq 0 ] && ! grep -q "wg[0-9]* (tuned)" "$work/tune_off.out" || fail "CLAYER_TUNING=off still uses the tuning file"
printf 'clayer-tuning 1\nlibrary 0.0.0\n' >"$tfile"
run tune_corrupt env CLAYER_CACHE_DIR="$tunedir" CLAYER_TUNING=on "$clayer" summary "$work/tune.net" --compile
[ $rc -eq 0 ] && grep -q "tuning file .*ignored" "$work/tune_corrupt.err" && ! grep -q "wg[0-9]* (tuned)" "$work/tune_corrupt.out" ||
    fail "a foreign tuning file: rc $rc, $(cat "$work/tune_corrupt.err")"
run tune_noargs "$clayer" tune
[ $rc -eq 2 ] || fail "clayer tune without nets exited $rc, want 2"
run tune_badset "$clayer" tune --set nosuchset
[ $rc -eq 2 ] || fail "clayer tune --set nosuchset exited $rc, want 2"
run tune_off_cmd env CLAYER_CACHE_DIR="$tunedir" CLAYER_TUNING=off "$clayer" tune "$work/tune.net" --budget 1
[ $rc -eq 1 ] && grep -q "no tuning file" "$work/tune_off_cmd.err" || fail "clayer tune with tuning off: rc $rc"

# clayer compile: usage errors (exit 2); a bundle of lenet, used binary-only
# (tests/net/binary_only.py runs the rest).
run compile_noargs "$clayer" compile
[ $rc -eq 2 ] || fail "clayer compile without nets exited $rc, want 2"
run compile_noout "$clayer" compile lenet
[ $rc -eq 2 ] && grep -q -- "-o FILE is required" "$work/compile_noout.err" || fail "clayer compile without -o: rc $rc"
run compile_mode "$clayer" compile lenet --mode fast -o "$work/l.clb"
[ $rc -eq 2 ] && grep -q "not 'fast'" "$work/compile_mode.err" || fail "clayer compile --mode fast: rc $rc"
run compile_listout "$clayer" compile --list lenet -o "$work/l.clb"
[ $rc -eq 2 ] || fail "clayer compile --list -o exited $rc, want 2"
run compile_opt "$clayer" compile lenet --frobnicate -o "$work/l.clb"
[ $rc -eq 2 ] && grep -q "unknown option '--frobnicate'" "$work/compile_opt.err" || fail "clayer compile --frobnicate: rc $rc"
run compile_lenet "$clayer" compile lenet -o "$work/l.clb"
[ $rc -eq 0 ] && [ -s "$work/l.clb" ] || fail "clayer compile lenet exited $rc: $(cat "$work/compile_lenet.err")"
mkdir -p "$work/empty-cache"
run compile_use env CLAYER_NO_COMPILER=1 CLAYER_BUNDLE="$work/l.clb" CLAYER_CACHE_DIR="$work/empty-cache" \
    "$clayer" run lenet
[ $rc -eq 0 ] || fail "clayer run lenet from its bundle, binary-only, exited $rc: $(cat "$work/compile_use.err")"
run compile_nobundle env CLAYER_NO_COMPILER=1 CLAYER_CACHE_DIR="$work/empty-cache" "$clayer" run lenet
[ $rc -eq 1 ] && grep -q "is in no kernel bundle (none loaded)" "$work/compile_nobundle.err" ||
    fail "binary-only without a bundle: rc $rc, $(cat "$work/compile_nobundle.err")"

[ $failures -eq 0 ] || exit 1
echo "cli: all checks passed"
