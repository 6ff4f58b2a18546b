"""Write a CSV recording of a simulated two-joint (hip, knee) gait controller.

A walker changes speed slowly; five sensor channels are sampled at 100 Hz (hip and knee
angles, the thigh gyroscope, heel and toe load cells) and the controller's two joint
torques are recorded beside them: an impedance law whose stiffness, damping and set points
follow the gait phase (stance or swing), smoothed by the actuators' first-order lag. The
phase is not a column: a model has to infer it from the sensors' recent history, which is
what a recurrent network (and its temporal sparsity) is for.

Usage::

    python examples/gait_csv.py                      # build/gait.csv, 4000 rows (40 s)
    python examples/gait_csv.py --rows 12000 --seed 1 -o my_gait.csv

Columns: ``time_s, hip_angle_deg, knee_angle_deg, thigh_gyro_dps, heel_load_N,
toe_load_N, hip_torque_Nm, knee_torque_Nm``. Train on it with::

    edgedrnn train --data build/gait.csv \\
        --inputs hip_angle_deg,knee_angle_deg,thigh_gyro_dps,heel_load_N,toe_load_N \\
        --targets hip_torque_Nm,knee_torque_Nm --task regress

(see docs/data.md, "Your own CSV recordings").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

#: Sample rate of the recording (Hz).
RATE = 100.0
COLUMNS = (
    "time_s",
    "hip_angle_deg",
    "knee_angle_deg",
    "thigh_gyro_dps",
    "heel_load_N",
    "toe_load_N",
    "hip_torque_Nm",
    "knee_torque_Nm",
)


def _bump(phase: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A Gaussian bump over the gait cycle (phase in [0, 1), wrapping around)."""
    d = (phase - centre + 0.5) % 1.0 - 0.5
    return np.exp(-0.5 * (d / width) ** 2)


def simulate(rows: int = 4000, seed: int = 0) -> dict[str, np.ndarray]:
    """The recording's columns, each a float array of ``rows`` samples."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows) / RATE
    # walking speed (m/s): slow random changes between 0.6 and 1.6
    knots = rng.uniform(0.6, 1.6, size=rows // 800 + 2)
    speed = np.interp(t, np.linspace(0, t[-1] + 1e-9, len(knots)), knots)
    speed = np.convolve(speed, np.ones(200) / 200, mode="same")
    cadence = 0.55 + 0.35 * speed  # strides per second
    phase = np.cumsum(cadence / RATE) % 1.0  # 0: heel strike; stance until 0.6
    stance = (phase < 0.6).astype(float)
    amp = 0.6 + 0.4 * speed
    hip = 5.0 + 22.0 * amp * np.cos(2 * np.pi * phase)
    knee = 4.0 + amp * (15.0 * _bump(phase, 0.15, 0.06) + 58.0 * _bump(phase, 0.72, 0.09))
    gyro = np.gradient(hip, 1 / RATE)
    weight = 700.0
    heel = weight * (1.1 * _bump(phase, 0.08, 0.06) + 0.3 * _bump(phase, 0.3, 0.1)) * stance
    toe = weight * (0.3 * _bump(phase, 0.3, 0.1) + 1.2 * _bump(phase, 0.5, 0.06)) * stance
    # the controller: phase-dependent impedance about the set points, plus push-off
    knee_vel = np.gradient(knee, 1 / RATE)
    k_knee = np.where(stance > 0, 2.5, 0.3)  # Nm/deg
    b_knee = np.where(stance > 0, 0.05, 0.02)  # Nm s/deg
    knee_cmd = -k_knee * (knee - 8.0) - b_knee * knee_vel
    hip_cmd = (
        -1.2 * (hip - (5.0 + 20.0 * np.cos(2 * np.pi * phase)))
        - 0.02 * gyro
        + 18.0 * speed * _bump(phase, 0.55, 0.07)
    )
    lag = np.exp(-1.0 / (RATE * 0.05))  # the actuators' 50 ms time constant
    torques = np.zeros((rows, 2))
    state = np.zeros(2)
    for i, cmd in enumerate(np.stack([hip_cmd, knee_cmd], axis=1)):
        state = lag * state + (1 - lag) * cmd
        torques[i] = state
    noise = {"hip": 0.5, "knee": 0.5, "gyro": 4.0, "load": 8.0}
    return {
        "time_s": t,
        "hip_angle_deg": hip + rng.normal(0, noise["hip"], rows),
        "knee_angle_deg": knee + rng.normal(0, noise["knee"], rows),
        "thigh_gyro_dps": gyro + rng.normal(0, noise["gyro"], rows),
        "heel_load_N": np.maximum(heel + rng.normal(0, noise["load"], rows), 0.0),
        "toe_load_N": np.maximum(toe + rng.normal(0, noise["load"], rows), 0.0),
        "hip_torque_Nm": torques[:, 0],
        "knee_torque_Nm": torques[:, 1],
    }


def write(path: str | Path, rows: int = 4000, seed: int = 0) -> Path:
    """Simulate and write the CSV (header line, then one row per 10 ms)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = simulate(rows, seed)
    table = np.stack([cols[c] for c in COLUMNS], axis=1)
    np.savetxt(path, table, delimiter=",", header=",".join(COLUMNS), comments="", fmt="%.4f")
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--out", default="build/gait.csv", help="CSV file to write")
    p.add_argument("--rows", type=int, default=4000, help="rows (10 ms each)")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulation")
    args = p.parse_args()
    path = write(args.out, args.rows, args.seed)
    print(f"wrote {path}: {args.rows} rows, {args.rows / RATE:.0f} s at {RATE:g} Hz")


if __name__ == "__main__":
    main()
