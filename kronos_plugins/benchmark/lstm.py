"""The benchmark's LSTM: a small probabilistic Darts ``RNNModel`` on scaled log returns."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["LSTMModel"]


class LSTMModel:
    """A small probabilistic LSTM (Darts ``RNNModel``, Gaussian likelihood) on scaled log returns.

    ``fit(history)`` trains on the last ``max_train_bars`` log returns of the rows before the dataset's first
    forecast origin (nothing at or after it). ``forecast`` feeds the window's context returns and samples
    ``num_samples`` return paths, which become price paths from the last context close.
    """

    def __init__(
        self, input_chunk_length, hidden_dim, n_rnn_layers, n_epochs, batch_size, max_train_bars, lr
    ):
        self.input_chunk_length = input_chunk_length
        self.hidden_dim = hidden_dim
        self.n_rnn_layers = n_rnn_layers
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.max_train_bars = max_train_bars
        self.lr = lr
        self.name = "LSTM"
        self._model = None
        self._scale = 1.0

    @staticmethod
    def _returns(close: np.ndarray) -> np.ndarray:
        return np.diff(np.log(np.asarray(close, dtype=np.float64)))

    def _series(self, r: np.ndarray):
        from darts import TimeSeries

        return TimeSeries.from_values((r / self._scale).astype(np.float32).reshape(-1, 1))

    def fit(self, history: pd.DataFrame, seed: int = 0) -> LSTMModel:
        import logging

        from darts.models import RNNModel
        from darts.utils.likelihood_models import GaussianLikelihood

        for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
            logging.getLogger(name).setLevel(logging.ERROR)
        r = self._returns(history["close"].to_numpy())[-self.max_train_bars :]
        if len(r) < self.input_chunk_length + 2:
            raise ValueError(
                f"the LSTM needs at least {self.input_chunk_length + 3} bars before the first origin, "
                f"found {len(r) + 1}; lower `input_chunk_length` or add history."
            )
        self._scale = float(np.std(r)) or 1.0
        self._model = RNNModel(
            model="LSTM",
            input_chunk_length=self.input_chunk_length,
            training_length=self.input_chunk_length + 8,
            hidden_dim=self.hidden_dim,
            n_rnn_layers=self.n_rnn_layers,
            n_epochs=self.n_epochs,
            batch_size=self.batch_size,
            likelihood=GaussianLikelihood(),
            optimizer_kwargs={"lr": self.lr},
            random_state=seed,
            pl_trainer_kwargs={
                "accelerator": "cpu",
                "enable_progress_bar": False,
                "enable_model_summary": False,
                "logger": False,
                "enable_checkpointing": False,
            },
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._model.fit(self._series(r), verbose=False)
        return self

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        if self._model is None:
            raise RuntimeError(
                "the LSTM must be fit before it forecasts; the runner calls `fit(history)` first."
            )
        close = context["close"].to_numpy(dtype=np.float64)
        r = self._returns(close)[-max(self.input_chunk_length, 1) :]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = self._model.predict(
                n=horizon, series=self._series(r), num_samples=num_samples, verbose=False, random_state=seed
            )
        draws = pred.all_values(copy=False)[:, 0, :].T.astype(np.float64) * self._scale  # (S, H)
        return close[-1] * np.exp(np.cumsum(draws, axis=1))
