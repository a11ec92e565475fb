"""Offline OCR benchmark: time per page and peak RSS (RapidOCR PP-OCRv4, ONNX Runtime on the CPU), as
ratios against a baseline measured in the same run, plus character accuracy on generated images.

Usage: python benchmarks/ocr.py [--threads 1,2] [--repeat 3] [--no-accuracy]
Each thread count runs in its own process so its peak RSS is its own. Baselines, same process:
  time  -> a tiny image (one short line, 240x60): the fixed cost of one OCR call;
  RSS   -> the process after importing the bot, before the OCR engine is loaded.
Pages: a phone photo of a chat (1080x1600, 14 lines) and an A4 PDF page rendered at the default
scale 2.0 (1190x1684, 30 lines of minutes). Accuracy: 10 images with varied faces, sizes, noise, blur
and rotation (tests/ocr_support.py), 1 - CER over characters. Needs fonts-wqy-zenhei. Always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # allow running from a checkout without installing the package

CHAT = ["许志强 11/16 09:15", "你们的报价我看了，43万比预期高了不少", "王芳 11/16 09:18",
        "许总，这个价格包含三年的运维服务", "许志强 11/16 09:22", "东软的方案也差不多，价格低一截",
        "王芳 11/16 09:25", "我跟领导争取一下，周四上午给您答复", "许志强 11/16 09:30", "好的，合同模板先发我看看",
        "王芳 11/16 09:31", "稍后发您邮箱", "许志强 11/16 09:40", "收到"]
MINUTES = [f"{i:02d}. 议题{i}：运输管理系统第{i}期上线计划，负责人王芳，截止11月{10 + i % 20}日" for i in range(1, 31)]

# (lines, options) for the accuracy set: varied face, size, noise, blur and rotation.
ACCURACY_SET: list[tuple[list[str], dict[str, Any]]] = [
    (["张总：合同已盖章，明天寄回", "报价12.5万元，华东区三个仓库"], {"size": 32}),
    (["产品演示议程", "1.运输管理系统方案讲解", "2.现场演示调度看板"], {"size": 26, "face": 1}),
    (["会议纪要：客户要求下周二上午到公司面谈", "预算约三十万，决策人是采购部李总"], {"size": 22}),
    (["合同编号：HT-2026-0815", "甲方（盖章）：远东物流有限公司"], {"size": 28, "noise": 0.03, "seed": 1}),
    (["许志强 11/16 09:15", "你们的报价我看了，43万比预期高了不少"], {"size": 24, "rotate": 3.0}),
    (["白板：入库→质检→上架→拣货→出库", "瓶颈：质检人手不足"], {"size": 30, "blur": 1.0}),
    (["付款方式：验收后付百分之三十", "尾款在第二季度结清"], {"size": 18}),
    (["华康医疗 蔡敏 13800138000", "周四下午三点电话回访"], {"size": 26, "noise": 0.05, "seed": 2, "face": 1}),
    (["试用账号已开通，请在十二月一日前反馈", "技术对接人：赵工"], {"size": 24, "rotate": -5.0}),
    (["客户担心价格太高，竞品东软报价低一截", "需要再申请一次折扣"], {"size": 20, "blur": 0.8, "noise": 0.02,
                                                           "seed": 3}),
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_config(threads: int, repeat: int, accuracy: bool) -> dict[str, Any]:
    from bot.ocr.engine import ocr_engine, read_file
    from tests.ocr_support import char_accuracy, draw_lines, encode, pdf_of

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        tiny, photo, pdf = base / "tiny.png", base / "photo.jpg", base / "minutes.pdf"
        tiny.write_bytes(encode(draw_lines(["合同已盖章"], size=20, width=240)))
        photo.write_bytes(encode(draw_lines(CHAT, size=40, width=1080, noise=0.01), "JPEG", quality=85))
        page = draw_lines(MINUTES, size=16, width=827)  # an A4 page at 100 dpi; rendered at 2.0 below
        pdf.write_bytes(pdf_of([page, page]))
        rss_before = current_rss_mb()
        started = time.perf_counter()
        ocr_engine(threads)
        load_s = time.perf_counter() - started

        cpu: dict[str, float] = {}

        def timed(path: Path, kind: str, pages: int) -> tuple[float, str]:
            """Best wall seconds per page; CPU seconds per page (all threads) in `cpu`: on a shared,
            loaded machine the wall time swells with the load, the CPU time much less."""
            best, best_cpu, text = float("inf"), float("inf"), ""
            for _ in range(repeat):
                t, c = time.perf_counter(), time.process_time()
                text = read_file(path, kind=kind, pages=pages, threads=threads, pdf_scale=2.0,
                                 max_pixels=40_000_000)
                best = min(best, time.perf_counter() - t)
                best_cpu = min(best_cpu, time.process_time() - c)
            cpu[path.stem] = round(best_cpu / pages, 3)
            return best / pages, text

        timed(tiny, "image", 1)  # warm-up: first-call allocations are not a page's cost
        tiny_s, _ = timed(tiny, "image", 1)
        rss_after_tiny = current_rss_mb()
        photo_s, photo_text = timed(photo, "image", 1)
        pdf_s, pdf_text = timed(pdf, "pdf", 2)
        result: dict[str, Any] = {
            "threads": threads, "load_s": round(load_s, 2),
            "tiny_s": round(tiny_s, 3), "photo_s_per_page": round(photo_s, 3), "pdf_s_per_page": round(pdf_s, 3),
            "photo_vs_tiny": round(photo_s / tiny_s, 1), "pdf_page_vs_tiny": round(pdf_s / tiny_s, 1),
            "cpu_s_per_page": cpu, "load_average": round(os.getloadavg()[0], 1),
            "photo_accuracy": round(char_accuracy("".join(CHAT), photo_text), 3),
            "pdf_accuracy": round(char_accuracy("".join(MINUTES * 2), pdf_text), 3),
            "rss_before_engine_mb": round(rss_before, 0), "rss_after_tiny_mb": round(rss_after_tiny, 0),
            "peak_rss_mb": round(peak_rss_mb(), 0),
            "peak_vs_before_engine": round(peak_rss_mb() / rss_before, 1),
            "peak_vs_after_tiny": round(peak_rss_mb() / rss_after_tiny, 2),
        }
        if accuracy:
            scores = []
            for i, (lines, options) in enumerate(ACCURACY_SET):
                path = base / f"acc{i}.png"
                path.write_bytes(encode(draw_lines(lines, **options)))
                got = read_file(path, kind="image", pages=1, threads=threads, pdf_scale=2.0, max_pixels=40_000_000)
                score = round(char_accuracy("".join(lines), got), 3)
                scores.append({"image": i, "options": options, "accuracy": score})
            result["accuracy"] = scores
            result["accuracy_mean"] = round(sum(s["accuracy"] for s in scores) / len(scores), 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-accuracy", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(run_config(args.child, args.repeat, not args.no_accuracy), ensure_ascii=False))
        return
    for threads in [int(t) for t in args.threads.split(",")]:
        cmd = [sys.executable, __file__, "--child", str(threads), "--repeat", str(args.repeat)]
        if args.no_accuracy or threads != int(args.threads.split(",")[0]):
            cmd.append("--no-accuracy")  # accuracy does not depend on the thread count: measured once
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"threads={threads}: failed\n{out.stderr[-2000:]}")
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        accuracy = result.pop("accuracy", None)
        print(json.dumps(result, ensure_ascii=False))
        for row in accuracy or []:
            print(f"  accuracy image {row['image']}: {row['accuracy']:.3f} {row['options']}")
        if accuracy:
            print(f"  accuracy mean: {result['accuracy_mean']:.3f}")


if __name__ == "__main__":
    main()
