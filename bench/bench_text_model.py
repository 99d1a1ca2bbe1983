"""Benchmark: the Keras text network's fit time against the budget's estimate, and word explanations' cost.

For generated message tables (Zipf-distributed words from a vocabulary of 500 or 20,000, 12 or
100 words a message, 2,000 or 8,000 rows) and both poolings, the text network is fitted as the
app fits it (``core.training.train_one`` on a request made the app's way, early stopping off so
every epoch runs, no cross-validation) and its seconds are printed beside the estimate of
``core.training.budget.estimate`` (``TEXT_NETWORK_SETUP`` + per epoch the batches and each row's
multiply-adds × ``TEXT_NETWORK_PER_OP``) as the ratio actual ÷ estimated. The goal is a ratio
under 1 (the estimate errs long) and above 0.3.

Then ``core.explain.words.overall_words`` on 100 validation rows of the spam sample for a TF-IDF
logistic regression and the text network: seconds, model inputs and predict calls, against
``estimate_seconds`` (ratio).

Usage: ``python bench/bench_text_model.py [--epochs 4]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def messages(rows: int, vocabulary: int, length: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(vocabulary)])
    p = 1 / np.arange(1, vocabulary + 1)
    text = [" ".join(rng.choice(words, length, p=p / p.sum())) for _ in range(rows)]
    label = np.where(rng.random(rows) < 0.3, "yes", "no")
    return pd.DataFrame({"message": text, "label": label})


def fit_times(epochs: int) -> None:
    from core.split import SplitConfig
    from core.training import train_one
    from core.training.budget import estimate
    from tests.conftest import make_training_request

    print("rows vocabulary words pooling   estimated  actual  actual/estimated")
    warm = make_training_request(messages(200, 50, 5), "label", models=[("keras_text", {"epochs": 1})])
    train_one(warm, warm.models[-1])  # TensorFlow's import and first trace are paid once per process
    for rows, vocabulary, length in ((2_000, 500, 12), (2_000, 20_000, 12), (8_000, 500, 12), (2_000, 500, 100)):
        for pooling in ("average", "convolution"):
            params = {"epochs": epochs, "early_stopping": False, "pooling": pooling, "sequence_length": length}
            request = make_training_request(
                messages(rows, vocabulary, length),
                "label",
                models=[("keras_text", params)],
                split=SplitConfig(cv_folds=0),
            )
            run = request.models[-1]
            planned = estimate(request, run).seconds(len(request.split.train))
            started = time.perf_counter()
            train_one(request, run)
            took = time.perf_counter() - started
            print(
                f"{rows:>5} {vocabulary:>10} {length:>5} {pooling:<11} {planned:8.1f}s {took:6.1f}s {took / planned:8.2f}"
            )


def word_times() -> None:
    from core.explain import words as cw
    from core.training import train_one
    from tests.conftest import make_training_request

    print("\nmodel                  rows  inputs  calls  seconds  estimated  actual/estimated")
    for key, params in (("logistic_regression", {}), ("keras_text", {"epochs": 10})):
        request = make_training_request("spam", "label", models=[(key, params)], seed=3)
        model = train_one(request, request.models[-1])
        X, _ = request.xy(request.split.valid)
        estimated = cw.estimate_seconds(model, X, "message", 100)
        calls = []
        original = model.pipeline.predict_proba

        def counted(frame, original=original, calls=calls):
            calls.append(len(frame))
            return original(frame)

        model.pipeline.predict_proba = counted
        overall = cw.overall_words(model, X, "message", rows=100, positive=request.positive)
        print(
            f"{key:<22} {overall.rows:>4} {sum(calls):>7} {len(calls):>6} {overall.seconds:8.2f} {estimated:9.2f} "
            f"{overall.seconds / estimated:10.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    fit_times(args.epochs)
    word_times()


if __name__ == "__main__":
    main()
