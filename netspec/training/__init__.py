"""Train a lowered network in a run folder (`run.train`): the shared session, the supervised
and greedy executors, pretraining rules, optimizers, metrics, checkpoints, distributed and
progress. Torch-side."""
