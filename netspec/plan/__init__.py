"""Check `train` sections against their networks and turn them into plans: the catalogues of
settings, data sources, optimizers, schedules and methods (`catalog`), data binding, stage
checks, and the frozen plans the trainer runs (`trainspec.plan_training`). Torch-free."""
