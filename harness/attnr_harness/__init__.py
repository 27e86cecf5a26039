"""What the benchmarks (bench/) and the training and tuning code
(model/train/, bench/cv_fusion.py) share: the dev and corpus datasets and
their sources, the metrics, and the driver that starts the real server and
talks to it (service.Server)."""
