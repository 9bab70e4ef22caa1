"""Labelling statements by hand, and turning several annotators' labels into a corpus.

- :mod:`~stance.labelling.log`: the annotation event log, the only state of a session;
- :mod:`~stance.labelling.session`: a session, the logic behind each key, and the order of the queue;
- :mod:`~stance.labelling.terminal`: keys in, screens out (``stance annotate``);
- :mod:`~stance.labelling.agreement`: reading annotations, and agreement between annotators
  (``stance agreement``);
- :mod:`~stance.labelling.adjudication`: gold labels from the annotators' votes (``stance adjudicate``).
"""

from __future__ import annotations

from stance.labelling.adjudication import Adjudication, adjudicate, adjudicate_files, report_paths
from stance.labelling.agreement import (
    Annotations,
    agreement_report,
    coincidence_matrix,
    cohen_kappa,
    fleiss_category_kappas,
    fleiss_kappa,
    krippendorff_alpha,
    load_annotations,
    read_annotations,
    read_statements_context,
    specific_agreement,
)
from stance.labelling.log import EventLog, LogState, read_events, replay
from stance.labelling.session import (
    AnnotationSession,
    Summary,
    default_log_path,
    open_session,
    queue_order,
    uncertainty_scores,
)
from stance.labelling.terminal import KeySource, RichScreen, StreamKeys, TerminalKeys, annotate_loop, run_annotation

__all__ = [
    "Adjudication", "AnnotationSession", "Annotations", "EventLog", "KeySource", "LogState", "RichScreen",
    "StreamKeys", "Summary", "TerminalKeys", "adjudicate", "adjudicate_files", "agreement_report", "annotate_loop",
    "coincidence_matrix", "cohen_kappa", "default_log_path", "fleiss_category_kappas", "fleiss_kappa",
    "krippendorff_alpha", "load_annotations", "open_session", "queue_order", "read_annotations", "read_events",
    "read_statements_context", "replay", "report_paths", "run_annotation", "specific_agreement",
    "uncertainty_scores",
]
