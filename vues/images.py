"""Images pour les cartes : grille de valeurs (EPSG:2154) → PNG coloré en WGS84, vignettes de photos.

Les images sont encodées en data URI (base64), pour être servies dans la carte sans serveur de tuiles.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from rasterio.crs import CRS
from rasterio.transform import Affine, array_bounds
from rasterio.warp import Resampling, calculate_default_transform, reproject

LARGEUR_MAX_PX = 900
TAILLE_VIGNETTE_PX = 200


def interpoler_palette(palette: list[str], valeurs: np.ndarray) -> np.ndarray:
    """Couleurs RVB (uint8) de valeurs normalisées dans [0, 1] par interpolation linéaire de la palette."""
    couleurs = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in palette], dtype=float)
    positions = np.linspace(0.0, 1.0, len(palette))
    canaux = [np.interp(valeurs, positions, couleurs[:, k]) for k in range(3)]
    return np.stack(canaux, axis=-1).round().astype(np.uint8)


def grille_en_png(valeurs: np.ndarray, transformation: Affine, crs: str, palette: list[str], minimum: float,
                  maximum: float, opacite: float = 0.75) -> tuple[str, list[list[float]]]:
    """Grille (NaN = hors territoire) → (data URI PNG, bornes [[lat min, lon min], [lat max, lon max]]).

    La grille est réduite à au plus ``LARGEUR_MAX_PX`` colonnes (moyenne) puis reprojetée en WGS84.
    """
    hauteur, largeur = valeurs.shape
    pas = max(1, int(np.ceil(largeur / LARGEUR_MAX_PX)))
    if pas > 1:
        h, l = hauteur // pas * pas, largeur // pas * pas
        blocs = valeurs[:h, :l].reshape(h // pas, pas, l // pas, pas)
        finies = np.isfinite(blocs)
        sommes = np.where(finies, blocs, 0.0).sum(axis=(1, 3))
        nombres = finies.sum(axis=(1, 3))
        valeurs = np.where(nombres > 0, sommes / np.maximum(nombres, 1), np.nan)
        transformation = transformation @ Affine.scale(pas)
        hauteur, largeur = valeurs.shape
    source = CRS.from_user_input(crs)
    cible = CRS.from_epsg(4326)
    gauche, bas, droite, haut = array_bounds(hauteur, largeur, transformation)
    transformation_wgs, largeur_wgs, hauteur_wgs = calculate_default_transform(
        source, cible, largeur, hauteur, left=gauche, bottom=bas, right=droite, top=haut)
    projetees = np.full((hauteur_wgs, largeur_wgs), np.nan, dtype=np.float32)
    reproject(valeurs.astype(np.float32), projetees, src_transform=transformation, src_crs=source,
              dst_transform=transformation_wgs, dst_crs=cible, resampling=Resampling.bilinear,
              src_nodata=np.nan, dst_nodata=np.nan)
    normalisees = np.clip((projetees - minimum) / max(maximum - minimum, 1e-9), 0, 1)
    rvb = interpoler_palette(palette, np.nan_to_num(normalisees))
    alpha = np.where(np.isfinite(projetees), round(255 * opacite), 0).astype(np.uint8)
    image = Image.fromarray(np.dstack([rvb, alpha]), mode="RGBA")
    tampon = io.BytesIO()
    image.save(tampon, format="PNG", optimize=True)
    ouest, sud, est, nord = array_bounds(hauteur_wgs, largeur_wgs, transformation_wgs)
    uri = "data:image/png;base64," + base64.b64encode(tampon.getvalue()).decode("ascii")
    return uri, [[sud, ouest], [nord, est]]


@lru_cache(maxsize=256)
def _vignette(chemin: str, signature: int) -> str | None:
    try:
        with Image.open(chemin) as image:
            image = image.convert("RGB")
            image.thumbnail((TAILLE_VIGNETTE_PX, TAILLE_VIGNETTE_PX))
            tampon = io.BytesIO()
            image.save(tampon, format="JPEG", quality=80)
    except (OSError, ValueError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(tampon.getvalue()).decode("ascii")


def creer_vignette(chemin: Path | None) -> str | None:
    """Vignette JPEG (≤ 200 px) d'une photo en data URI ; None si le fichier manque ou n'est pas une image.

    ``chemin`` : fichier rendu par :func:`donnees.photos.resoudre_photo` (jamais un nom stocké brut)."""
    if chemin is None:
        return None
    chemin = Path(chemin)
    if not chemin.exists():
        return None
    return _vignette(str(chemin), chemin.stat().st_mtime_ns)
