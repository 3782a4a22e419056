"""Evaluation metrics: pure functions of (predictions, references), each docstring giving its formula.

Every metric refuses inputs of different lengths or no examples with a ValueError. The MiniLM
helper for BERTScore lives in `tunelab.models.embeddings` (imported on demand: it loads torch)."""

from tunelab.eval.metrics.classification import (
    accuracy,
    hierarchical_f1,
    hierarchical_prf,
    macro_f1,
    per_class_counts,
    top_k_accuracy,
    weighted_f1,
)
from tunelab.eval.metrics.extraction import (
    SlotScores,
    exact_match,
    json_exact_match,
    normalize_answer,
    normalize_value,
    slot_scores,
    token_f1,
)
from tunelab.eval.metrics.generation import (
    TokenEmbedder,
    answerability_f1,
    bertscore,
    bertscore_tokens,
    lcs_length,
    rouge_l,
    rouge_tokens,
)
from tunelab.eval.metrics.preference import preference_accuracy, preference_margin
from tunelab.eval.metrics.retrieval import mrr, ndcg_at_k, recall_at_k
from tunelab.eval.metrics.scores import PRF, Counts

__all__ = [
    "PRF",
    "Counts",
    "SlotScores",
    "TokenEmbedder",
    "accuracy",
    "answerability_f1",
    "bertscore",
    "bertscore_tokens",
    "exact_match",
    "hierarchical_f1",
    "hierarchical_prf",
    "json_exact_match",
    "lcs_length",
    "macro_f1",
    "mrr",
    "ndcg_at_k",
    "normalize_answer",
    "normalize_value",
    "per_class_counts",
    "preference_accuracy",
    "preference_margin",
    "recall_at_k",
    "rouge_l",
    "rouge_tokens",
    "slot_scores",
    "token_f1",
    "top_k_accuracy",
    "weighted_f1",
]
