"""``stance train``: fit the configured model into a new run folder and evaluate it on dev."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from stance.config import ExperimentConfig
from stance.distributed import is_main_process
from stance.evaluate import Evaluation
from stance.io import write_atomic
from stance.recipes.steps import (calibrate, check_hardware, check_resumable, conclude_run, data_provenance,
                                  evaluate_classifier, fit, load_data, save_evaluation, training_parts)
from stance.report import plot_history
from stance.runs import Run, new_shared_run, recording, reopen_run
from stance.splits import Split


def train(config: ExperimentConfig, *, command: str | None = None, progress: bool = False,
          evaluate_split: str | None = None, resume: Run | None = None,
          finish: bool = True, data: tuple[pd.DataFrame, Split] | None = None) -> tuple[Run, dict[str, Evaluation]]:
    """Train into a new run directory, calibrate and evaluate on dev (and ``evaluate_split``), and
    finish the run.

    With ``resume``, training continues in that incomplete run, in its own folder, from its last
    complete checkpoint (from the start if it has none); the config and data must be the ones it
    started with (:func:`stance.recipes.resume_run` takes care of that). With ``finish=False`` the
    run stays open (incomplete) for the caller to add to and finish. ``data`` passes statements and
    split already loaded by :func:`~stance.recipes.steps.load_data`.
    """
    check_hardware(config)
    frame, split = data or load_data(config)
    parts = training_parts(config, frame, split)
    provenance = data_provenance(config, frame, split)
    # Under torchrun every process trains (DDP, through the Trainer); only rank 0 writes the run.
    main = is_main_process()
    if resume is not None:
        check_resumable(resume, config, provenance)
        if main:
            reopen_run(resume, command)
    run = resume or new_shared_run(config, command=command)
    if main:
        run.update_manifest(data=provenance, seed=config.train.seed, kind="train" if finish else "run")
    with recording(run, writer=main):
        resume_from = last_checkpoint(run) if resume else None
        classifier, history = fit(config, parts, run, progress=progress and main, resume_from=resume_from)
        if not main:
            return run, {}
        temperature = calibrate(classifier, parts["dev"], config)
        if temperature is not None:
            run.update_manifest(calibration={"temperature": temperature, "fitted_on": "dev"})
        classifier.save(run.model_dir)
        write_atomic(run.path / "history.csv", pd.DataFrame(history).to_csv(index=False))
        plot_history(pd.DataFrame(history), run.path / "history.png", title=f"{run.id}: training")
        evaluations = {}
        for name in dict.fromkeys(["dev", evaluate_split or "dev"]):
            if len(parts[name]):
                evaluations[name] = evaluate_classifier(classifier, parts[name], config, name)
                save_evaluation(run, evaluations[name])
    shutil.rmtree(run.checkpoint_dir, ignore_errors=True)
    return (conclude_run(run) if finish else run), evaluations


def last_checkpoint(run: Run) -> Path | None:
    """The newest checkpoint written in full; newer half-written ones (a kill mid-save) are removed.

    The Trainer writes ``trainer_state.json`` last, so a checkpoint whose state parses and whose
    weights are safetensors is complete. Only safetensors weights are ever resumed from.
    """
    folders = [p for p in run.checkpoint_dir.glob("checkpoint-*") if p.name.rsplit("-", 1)[-1].isdigit()]
    for checkpoint in sorted(folders, key=lambda p: int(p.name.rsplit("-", 1)[-1]), reverse=True):
        try:
            state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = None
        if state is None or not (checkpoint / "model.safetensors").is_file():
            shutil.rmtree(checkpoint, ignore_errors=True)
            continue
        best = state.get("best_model_checkpoint")
        if best and Path(best).parent != run.checkpoint_dir:
            # The run folder was moved since: point the Trainer at the best checkpoint's new place.
            state["best_model_checkpoint"] = str(run.checkpoint_dir / Path(best).name)
            write_atomic(checkpoint / "trainer_state.json", json.dumps(state, indent=2))
        return checkpoint
    return None
