"""Body proportions from published anthropometry: the one source of metric size and bone priors.

No figure here comes from the mocap's 3D. Two published sources:
- Stature: the mean height of US adults aged 20 and over, men 175.3 cm (69.0 in) and women
  161.3 cm (63.5 in), NHANES 2015-2018 (Fryar et al., "Anthropometric reference data for
  children and adults: United States, 2015-2018", Vital Health Stat 3(46), CDC, 2021).
  STATURE_MM is the mean of the two.
- Segment lengths as fractions of stature H: Drillis & Contini, "Body Segment Parameters"
  (1966), as drawn in Winter, "Biomechanics and Motor Control of Human Movement" (4th ed.,
  2009, fig. 4.1): hip height 0.530 H, knee 0.285 H, ankle 0.039 H, shoulder 0.818 H, chin
  0.870 H, eye 0.936 H; shoulder width 0.259 H, hip width 0.191 H; upper arm 0.186 H,
  forearm 0.146 H.

How our 17 joints (skeleton.py) take these figures:
- thigh = hip - knee height, shank = knee - ankle height;
- pelvis -> spine -> thorax: hip height to shoulder height, halved (spine is their midpoint);
- thorax -> head: shoulder height to the head joint (the base of the skull, between the ears),
  put midway between chin and eye height, 0.903 H;
- head -> head top: HEAD_TOP_OFFSET_MM, the joint rule itself;
- pelvis -> hip and thorax -> shoulder: half the hip and shoulder widths. These two are
  surface breadths (trochanters, acromia), so they are wider than the joint centres they
  stand for; the bone prior's sigma (RELATIVE_BONE_SIGMA) is wide enough for it.
"""
from __future__ import annotations

from .skeleton import H36M17, HEAD_TOP_OFFSET_MM

#: Mean adult stature, mm (NHANES 2015-2018, the mean of men's and women's means).
STATURE_MM = 0.5 * (1753.0 + 1613.0)

# Drillis & Contini fractions of stature (see the module docstring).
_HIP, _KNEE, _ANKLE, _SHOULDER, _CHIN, _EYE = 0.530, 0.285, 0.039, 0.818, 0.870, 0.936
_SHOULDER_WIDTH, _HIP_WIDTH, _UPPER_ARM, _FOREARM = 0.259, 0.191, 0.186, 0.146
_HEAD_JOINT = 0.5 * (_CHIN + _EYE)

#: Fraction of stature of each bone, by the child joint's name (the head top is mm, below).
_BONE_FRACTION = {
    "right_hip": _HIP_WIDTH / 2, "left_hip": _HIP_WIDTH / 2,
    "right_knee": _HIP - _KNEE, "left_knee": _HIP - _KNEE,
    "right_ankle": _KNEE - _ANKLE, "left_ankle": _KNEE - _ANKLE,
    "spine": (_SHOULDER - _HIP) / 2, "thorax": (_SHOULDER - _HIP) / 2,
    "head": _HEAD_JOINT - _SHOULDER,
    "left_shoulder": _SHOULDER_WIDTH / 2, "right_shoulder": _SHOULDER_WIDTH / 2,
    "left_elbow": _UPPER_ARM, "right_elbow": _UPPER_ARM,
    "left_wrist": _FOREARM, "right_wrist": _FOREARM,
}


def bone_lengths_mm(stature_mm: float = STATURE_MM) -> tuple[float, ...]:
    """Each bone of H36M17.bones (in that order), mm, for a person of the given stature."""
    names = H36M17.joint_names
    return tuple(HEAD_TOP_OFFSET_MM if names[child] == "head_top" else _BONE_FRACTION[names[child]] * stature_mm
                 for _, child in H36M17.bones)


#: Bone lengths of the mean adult, mm, in H36M17.bones order.
BONE_LENGTHS_MM = bone_lengths_mm()
#: Sum of the 16 bone lengths, mm: the size a lifted skeleton is given when a metric answer
#: is asked for (lifting.to_metric).
BONE_SUM_MM = sum(BONE_LENGTHS_MM)
#: Each bone divided by the mean bone (the bone prior's means, Sosa & Hogg eq. 10).
RELATIVE_BONE_LENGTHS = tuple(b * len(BONE_LENGTHS_MM) / BONE_SUM_MM for b in BONE_LENGTHS_MM)
#: The bone prior's standard deviation, in units of the mean bone: 0.1 allows the spread of
#: adult proportions (limb ratios vary by a few percent of stature between people) and the
#: surface-breadth caveat above. A stated choice, not a measurement.
RELATIVE_BONE_SIGMA = 0.1
#: The ankle joint centre above the sole (the lateral malleolus height), mm.
ANKLE_HEIGHT_MM = _ANKLE * STATURE_MM
