"""Task heads: batches come from edgedrnn.data.collate; the losses use them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edgedrnn.data import Batch
from edgedrnn.data import collate as data_collate
from edgedrnn.train.heads import KIND_OF_TASK, TASKS, SequenceModel, collate
from edgedrnn.train.synthetic import make_task, num_outputs


@pytest.mark.parametrize("task", TASKS)
def test_collate_is_the_data_collate_of_the_tasks_kind(task):
    samples = make_task(task, 5, seed=0)
    got = collate(samples, task)
    want = data_collate(samples, kind=KIND_OF_TASK[task])
    assert isinstance(got, Batch)
    for name in ("x", "lengths", "y", "y_lengths"):
        a, b = getattr(got, name), getattr(want, name)
        assert (a is None and b is None) or torch.equal(a, b)


def test_unknown_task_is_an_error():
    with pytest.raises(ValueError, match="unknown task"):
        collate(make_task("ctc", 2), "translate")


def test_ctc_loss_uses_each_sequences_own_labels():
    torch.manual_seed(0)
    samples = make_task("ctc", 4, seed=3)
    model = SequenceModel(
        torch.nn.GRU(8, 6, batch_first=True), torch.nn.Linear(6, num_outputs("ctc")), "ctc"
    )
    batch = collate(samples, "ctc")
    scores = model(batch.x)
    flat = torch.tensor([int(k) for _, y in samples for k in y])
    want = F.ctc_loss(
        F.log_softmax(scores, dim=-1).transpose(0, 1),
        flat,
        batch.lengths,
        torch.tensor([len(y) for _, y in samples]),
        blank=0,
        zero_infinity=True,
    )
    assert torch.equal(model.loss(scores, batch), want)
    assert np.isfinite(float(want.detach()))
