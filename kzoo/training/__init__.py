"""Training utilities: callbacks, episode evaluation, schedules, the few-shot recipe (metrics: `kzoo.metrics`)."""

from kzoo.training.callbacks import EpisodeTensorBoard, KeepBestWeights, StopOnDivergence
from kzoo.training.evaluation import evaluate_episodes, evaluate_regression, format_score
from kzoo.training.schedules import LinearWarmup
from kzoo.metrics import episode_accuracy, harmonic_mean, mean_confidence_interval, per_class_accuracy

__all__ = ["EpisodeTensorBoard", "KeepBestWeights", "LinearWarmup", "StopOnDivergence", "evaluate_episodes", "evaluate_regression", "format_score", "episode_accuracy", "harmonic_mean", "mean_confidence_interval", "per_class_accuracy"]
