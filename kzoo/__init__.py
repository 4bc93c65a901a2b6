"""kzoo: a Keras 3 model zoo for few-shot and zero-shot meta-learning."""

__version__ = "0.1.0"
