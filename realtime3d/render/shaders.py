"""The rasterizer's GLSL programs (OpenGL 3.3 core), as source strings.

llvmpipe runs every branch of a shader for every fragment, so the colour shader is assembled once
per pattern and shadow mode (colour_fs) rather than branching on them.
"""
from __future__ import annotations

from .meshes import Light

COMMON_GLSL = """
vec3 tonemap(vec3 c) {          // linear -> display: Narkowicz's ACES fit, then gamma 2.2
    c = max(c, 0.0);
    c = clamp((c * (2.51 * c + 0.03)) / (c * (2.43 * c + 0.59) + 0.14), 0.0, 1.0);
    return pow(c, vec3(1.0 / 2.2));
}
"""

SCENE_VS = """
#version 330
uniform mat4 view_proj;        // world -> clip
uniform vec3 cam_z;            // the camera's optical axis in world
uniform vec3 cam_pos;
in vec3 in_pos;
in vec3 in_nrm;
in vec3 in_pco;
in vec2 in_meta;               // material index, label
uniform sampler2D materials;   // [N rows, 3 texels]: (colour, pattern), (colour2, scale), (dir, shininess)
out vec3 v_pos;
out vec3 v_nrm;
out vec3 v_pco;
out float v_z;
flat out vec4 v_m0;
flat out vec4 v_m1;
flat out vec4 v_m2;
flat out float v_label;
void main() {
    v_pos = in_pos;
    v_nrm = in_nrm;
    v_pco = in_pco;
    v_z = dot(in_pos - cam_pos, cam_z);
    int m = int(in_meta.x + 0.5);          // fetched per vertex: a triangle takes its first vertex's
    v_m0 = texelFetch(materials, ivec2(0, m), 0);
    v_m1 = texelFetch(materials, ivec2(1, m), 0);
    v_m2 = texelFetch(materials, ivec2(2, m), 0);
    v_label = in_meta.y;
    gl_Position = view_proj * vec4(in_pos, 1.0);
}
"""

IDS_FS = """
#version 330
in float v_z;
flat in float v_label;
layout(location = 0) out float f_label;
layout(location = 1) out float f_z;
void main() {
    f_label = v_label / 255.0;
    f_z = v_z;
}
"""

SHADOW_VS = """
#version 330
uniform mat4 light_vp;
in vec3 in_pos;
void main() { gl_Position = light_vp * vec4(in_pos, 1.0); }
"""

SHADOW_FS = """
#version 330
void main() {}
"""

# The colour shader is compiled once per pattern and per shadow mode (PATTERN, SHADOWS: taps, defined in
# front of it): llvmpipe runs every branch of a shader for every fragment, so a shader holds only
# the code its triangles need.
COLOUR_FS = """
uniform sampler2DShadow shadow_atlas; // two maps side by side: near (left half), far (right half)
uniform mat4 light_near;              // world -> shadow NDC of the near map
uniform mat4 light_far;
uniform int use_far;
uniform vec2 near_radius;             // PCF radius in the map's uv
uniform vec2 far_radius;
uniform float near_offset;            // m, receiver offset along its normal
uniform float far_offset;
uniform vec3 sun_dir;                 // towards the sun
uniform vec3 sun_col;
uniform vec3 sky_col;
uniform vec3 bounce_col;
uniform float ambient;
uniform vec3 cam_pos;
uniform vec3 fog_col;
uniform float fog_dist;
uniform float exposure;
in vec3 v_pos;
in vec3 v_nrm;
in vec3 v_pco;
in float v_z;
flat in vec4 v_m0;                    // the material: (colour, pattern), (colour2, scale), (direction, shininess)
flat in vec4 v_m1;
flat in vec4 v_m2;
flat in float v_label;
layout(location = 0) out vec4 f_colour;
layout(location = 1) out float f_label;
layout(location = 2) out float f_z;
""" + COMMON_GLSL + """
float hash13(vec3 p) {
    p = fract(p * 0.1031);
    p += dot(p, p.zyx + 31.32);
    return fract((p.x + p.y) * p.z);
}
float hash12(vec2 p) { return hash13(vec3(p, 17.17)); }
float vnoise(vec3 p) {
    vec3 i = floor(p);
    vec3 f = fract(p);
    f = f * f * (3.0 - 2.0 * f);
    return mix(mix(mix(hash13(i), hash13(i + vec3(1, 0, 0)), f.x),
                   mix(hash13(i + vec3(0, 1, 0)), hash13(i + vec3(1, 1, 0)), f.x), f.y),
               mix(mix(hash13(i + vec3(0, 0, 1)), hash13(i + vec3(1, 0, 1)), f.x),
                   mix(hash13(i + vec3(0, 1, 1)), hash13(i + vec3(1, 1, 1)), f.x), f.y), f.z);
}
// fractal noise of feature size 1 at p, in [0, 1]; w = features per pixel: octaves finer than a
// pixel fade to their mean
float fbm(vec3 p, float w, int octaves) {
    float s = 0.0, amp = 0.5, norm = 0.0, freq = 1.0;
    for (int k = 0; k < octaves; k++) {
        float keep = clamp(1.5 - 2.0 * freq * w, 0.0, 1.0);
        s += amp * (keep * vnoise(p * freq + float(k) * 7.31) + (1.0 - keep) * 0.5);
        norm += amp;
        amp *= 0.5;
        freq *= 2.0;
    }
    return s / norm;
}
// a square wave of period 1 in t (0 on the first half, 1 on the second), smoothed over a pixel
float band(float t, float w) {
    float d = abs(fract(t) - 0.5) - 0.25;
    return clamp(d / max(w, 1e-4) + 0.5, 0.0, 1.0);
}
// 1 near the lines of a unit grid, line width lw (in periods), smoothed over a pixel
float grid_line(vec2 uv, float lw, float w) {
    vec2 d = 0.5 - abs(fract(uv) - 0.5);        // distance to the nearest line, periods
    float e = min(d.x, d.y);
    return 1.0 - smoothstep(lw - 0.5 * w, lw + 0.5 * w, e);
}
// how much of a pattern with w periods per pixel survives (fades to its mean as w grows)
float keep(float w) { return clamp(1.6 - 1.2 * w, 0.0, 1.0); }

// albedo of material (t0, t1, t2) at pattern coordinate p (m); gloss: out specular factor
vec3 albedo(vec4 t0, vec4 t1, vec4 t2, vec3 p, out float gloss) {
    vec3 c1 = t0.rgb, c2 = t1.rgb;
    float s = max(t1.a, 1e-4);
    gloss = t2.a;
    vec3 q = p / s;                                // pattern space in periods
    float w = length(fwidth(q));                   // periods per pixel
    float mixv = 0.0;
    float bright = 1.0;
#if PATTERN >= 6 && PATTERN <= 9                   // on the pattern-space plane the surface is closest to
    vec3 an = abs(cross(dFdx(p), dFdy(p)));
    vec2 uv = an.y > max(an.x, an.z) ? p.xz : (an.x > an.z ? vec2(p.z, p.y) : vec2(p.x, p.y));
    uv /= s;
    float wu = length(fwidth(uv));
#endif
#if PATTERN == 0                                   // plain, with a faint grain of about 2 cm
    float kg = keep(length(fwidth(p * 50.0)));
    bright += 0.07 * kg * (vnoise(p * 50.0) - 0.5);
#elif PATTERN == 1                                 // stripes
    float t = dot(q, normalize(t2.xyz));
    mixv = mix(0.5, band(t, w), keep(w));
#elif PATTERN == 2                                 // gingham checks
    float a = band(q.y, w), b = band(q.x + q.z, w);
    mixv = mix(0.5, 0.5 * (a + b), keep(w));
#elif PATTERN == 3                                 // noise (mottled, heather, plaster, carpet)
    mixv = smoothstep(0.2, 0.8, fbm(q, w, 3));
#elif PATTERN == 4                                 // denim: twill lines, vertical streaks
    float twill = band(dot(q, vec3(1.0, 1.0, 0.6)), w);
    float streak = fbm(q * vec3(0.6, 0.05, 0.6), w * 0.6, 2);
    mixv = 0.12 + 0.22 * mix(0.5, twill, keep(w)) + 0.35 * (streak - 0.5);
    bright *= 0.9 + 0.25 * streak;
#elif PATTERN == 5                                 // knit: ribs and chevron rows
    float h = q.x + q.z;
    float rib = abs(fract(h) - 0.5) * 2.0;
    float row = fract(q.y * 1.5 + rib * 0.5);
    float v = smoothstep(0.0, 0.35, row) * smoothstep(1.0, 0.65, row);
    bright *= mix(0.85, 0.7 + 0.35 * v, keep(w * 1.5));
    mixv = 0.3 * vnoise(q * 0.25);
#elif PATTERN == 6                                 // tiles with grout
    float g = grid_line(uv, 0.03, wu);
    bright *= 1.0 + 0.12 * (hash12(floor(uv)) - 0.5);
    mixv = mix(0.06, g, keep(wu * 8.0));
#elif PATTERN == 7                                 // bricks: scale_m is the brick length
    vec2 b = vec2(uv.x, uv.y * 3.3);
    float r = floor(b.y);
    b.x += 0.5 * mod(r, 2.0);
    vec2 cell = floor(b);
    float h = hash12(cell);
    bright *= 0.82 + 0.3 * h;
    c1 *= vec3(1.0 + 0.1 * (hash12(cell + 3.1) - 0.5), 1.0, 1.0);
    vec2 d = 0.5 - abs(fract(b) - 0.5);
    float e = min(d.x, d.y / 3.3);
    float wb = length(fwidth(b));
    float mortar = 1.0 - smoothstep(0.03 - 0.5 * wb, 0.03 + 0.5 * wb, e);
    mixv = mix(0.15, mortar, keep(wb * 6.0));
#elif PATTERN == 8                                 // windows: scale_m is one bay (and one storey)
    vec2 cell = floor(uv);
    vec2 f = fract(uv);
    float win = step(0.22, f.x) * step(f.x, 0.78) * step(0.3, f.y) * step(f.y, 0.85);
    float frame = step(0.2, f.x) * step(f.x, 0.8) * step(0.28, f.y) * step(f.y, 0.87) - win;
    float h = hash12(cell);
    vec3 glass = c2 * (0.6 + 0.6 * h) + vec3(0.25, 0.2, 0.1) * step(0.85, h);
    vec3 wall = c1 * (0.92 + 0.16 * vnoise(vec3(uv * 2.0, 0.0)));
    vec3 col = mix(wall, glass, win);
    col = mix(col, vec3(0.55), frame * 0.7);
    float k = keep(wu * 6.0);
    gloss = mix(gloss, max(gloss, 0.8 * win), k);
    return mix(mix(c1, c2, 0.25), col, k);
#elif PATTERN == 9                                 // wood planks: scale_m is the plank width
    float r = floor(uv.y);
    float along = uv.x / 8.0 + hash12(vec2(r, 1.0));
    float plank = floor(along);
    float h = hash12(vec2(r, plank));
    float grain = fbm(vec3(uv.x * 0.4, uv.y * 10.0, h * 10.0), wu * 10.0, 2);
    float seam = max(grid_line(vec2(0.0, uv.y), 0.02, wu), grid_line(vec2(along * 8.0, 0.0), 0.02, wu));
    mixv = 0.35 * h + 0.45 * grain;
    bright *= 1.0 - 0.35 * seam * keep(wu * 4.0);
#elif PATTERN == 10                                // grass: patches and blades
    float patches = fbm(q * 0.2, w * 0.2, 3);
    float blades = vnoise(p * vec3(90.0, 30.0, 90.0));
    float kb = keep(length(fwidth(p * 90.0)));
    mixv = smoothstep(0.25, 0.75, patches);
    bright *= 0.85 + 0.3 * mix(0.5, blades, kb);
#elif PATTERN == 11                                // asphalt: speckle and stains
    float stain = fbm(q * 0.1, w * 0.1, 3);
    float speck = hash13(floor(p * 120.0));
    float ks = keep(length(fwidth(p * 120.0)));
    mixv = 0.15 * mix(0.5, step(0.8, speck) * 4.0, ks);
    bright *= 0.8 + 0.4 * stain;
#endif
    return mix(c1, c2, clamp(mixv, 0.0, 1.0)) * bright;
}

#if SHADOWS
// the fraction of the sun that reaches pos: PCF in the near map where pos lies in it, else in the far map
float sunlight(vec3 pos, vec3 n) {
    vec3 cn = (light_near * vec4(pos + n * near_offset, 1.0)).xyz * 0.5 + 0.5;
    vec3 cf = (light_far * vec4(pos + n * far_offset, 1.0)).xyz * 0.5 + 0.5;
    bool in_near = all(greaterThan(cn.xy, vec2(0.0))) && all(lessThan(cn.xy, vec2(1.0)));
    bool in_far = use_far == 1 && all(greaterThan(cf.xy, vec2(0.0))) && all(lessThan(cf.xy, vec2(1.0)));
    vec3 c = in_near ? cn : cf;
    vec2 radius = in_near ? near_radius : far_radius;
    float base = in_near ? 0.0 : 0.5;
    // SHADOWS bilinear PCF taps on a Vogel spiral turned per pixel (interleaved gradient noise)
    float a = 6.2831853 * fract(52.9829189 * fract(dot(gl_FragCoord.xy, vec2(0.06711056, 0.00583715))));
    float s = 0.0;
    for (int k = 0; k < SHADOWS; k++) {
        float t = a + 2.3999632 * float(k);
        vec2 uv = clamp(c.xy + sqrt((float(k) + 0.5) / float(SHADOWS)) * vec2(cos(t), sin(t)) * radius, 0.001, 0.999);
        s += texture(shadow_atlas, vec3(base + 0.5 * uv.x, uv.y, min(c.z, 1.0)));
    }
    return (in_near || in_far) ? s / float(SHADOWS) : 1.0;
}
#endif

void main() {
    vec3 n = normalize(v_nrm);
    if (!gl_FrontFacing) n = -n;
    float gloss;
    vec3 base = albedo(v_m0, v_m1, v_m2, v_pco, gloss);
    float ndl = max(dot(n, sun_dir), 0.0);
#if SHADOWS
    float lit = ndl > 0.0 ? sunlight(v_pos, n) : 0.0;
#else
    float lit = 1.0;
#endif
    vec3 hemi = mix(bounce_col, sky_col, 0.5 + 0.5 * n.y) * ambient;
    vec3 col = base * (hemi + sun_col * ndl * lit);
    vec3 view = normalize(cam_pos - v_pos);
    vec3 h = normalize(view + sun_dir);
    float spec = gloss * pow(max(dot(n, h), 0.0), 8.0 + 88.0 * gloss) * lit;
    col += 0.6 * spec * sun_col * smoothstep(0.0, 0.1, ndl);
    float fog = 1.0 - exp(-length(v_pos - cam_pos) / fog_dist);
    col = mix(col, fog_col, fog);
    f_colour = vec4(tonemap(col * exposure), 1.0);
    f_label = v_label / 255.0;
    f_z = v_z;
}
"""


def colour_fs(pattern: int, taps: int) -> str:
    """The colour fragment shader for one pattern id and number of shadow taps (0: no shadows)."""
    return f"#version 330\n#define PATTERN {pattern}\n#define SHADOWS {int(taps)}\n" + COLOUR_FS


def shadow_taps(light: Light) -> int:
    """PCF taps for a light: 4 where its shadows' edges are sharp, 8 where they are soft (less grain)."""
    return 8 if light.penumbra_m > 0.05 else 4


BACKDROP_VS = """
#version 330
void main() {
    vec2 p = vec2(float((gl_VertexID & 1) << 2) - 1.0, float((gl_VertexID & 2) << 1) - 1.0);
    gl_Position = vec4(p, 1.0, 1.0);          // on the far plane: drawn last, only where nothing is
}
"""

BACKDROP_FS = """
uniform mat3 cam_to_world;
uniform vec2 centre;          // px, principal point
uniform float focal;          // px
uniform float height;         // px
uniform vec3 zenith;
uniform vec3 horizon;
uniform vec3 below;
uniform vec3 sun_dir;
uniform vec3 sun_col;
uniform float exposure;
uniform sampler2D image;
uniform vec4 image_box;       // azimuth of the centre, azimuth span, bottom, top elevation (rad)
layout(location = 0) out vec4 f_colour;
layout(location = 1) out float f_label;
layout(location = 2) out float f_z;
""" + COMMON_GLSL + """
void main() {
    vec2 px = vec2(gl_FragCoord.x - 0.5, height - gl_FragCoord.y - 0.5);
    vec3 d = normalize(cam_to_world * vec3((px - centre) / focal, 1.0));
    float el = asin(clamp(d.y, -1.0, 1.0));
    vec3 sky = mix(horizon, zenith, pow(clamp(d.y, 0.0, 1.0), 0.5));
    sky = mix(sky, below, smoothstep(0.0, -0.2, d.y));
    float cs = max(dot(d, sun_dir), 0.0);
    sky += sun_col * (0.12 * pow(cs, 8.0) + 4.0 * pow(cs, 2000.0));
    vec3 col = tonemap(sky * exposure);
#if HAS_IMAGE
    float az = atan(d.x, -d.z);
    float u = (az - image_box.x) / image_box.y + 0.5;
    float v = (image_box.w - el) / (image_box.w - image_box.z);
    vec3 photo = texture(image, vec2(u, clamp(v, 0.0, 1.0))).rgb;
    col = mix(col, photo, smoothstep(-0.03, 0.03, v));
#endif
    f_colour = vec4(col, 1.0);
    f_label = 0.0;
    f_z = 0.0;
}
"""
