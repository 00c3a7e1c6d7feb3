"""Photos de démonstration (avant / après), dessinées avec Pillow."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np

from donnees.config import SOUS_DOSSIER_PHOTOS
from donnees.demo.parametres import lire_textes

POLICES_PHOTO = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf", "arial.ttf",
                 "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                 "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")


def _choisir_police(module_police) -> tuple:
    """Première police système disponible (avec accents), sinon la police intégrée de Pillow."""
    for nom in POLICES_PHOTO:
        try:
            return module_police.truetype(nom, 16), True
        except OSError:
            continue
    return module_police.load_default(size=16), False


def dessiner_photo(moment: str, legende: str, chemin: Path, parametres: dict, rng: np.random.Generator) -> None:
    """Photo de démonstration : enrobé marqué (avant) ou pleine terre plantée (après), avec légende."""
    from PIL import Image, ImageDraw, ImageFont

    p = parametres["operations"]["photos"]
    largeur, hauteur = int(p["largeur"]), int(p["hauteur"])
    if moment == "avant":
        base = np.array([92, 94, 98], dtype=float)
        bruit = rng.normal(0, 14, (hauteur, largeur, 1)) + rng.normal(0, 4, (hauteur, largeur, 3))
    else:
        base = np.array([88, 140, 62], dtype=float)
        bruit = (rng.normal(0, 18, (hauteur, largeur, 1)) * np.array([0.6, 1.0, 0.5])
                 + rng.normal(0, 6, (hauteur, largeur, 3)))
    pixels = np.clip(base + bruit, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    dessin = ImageDraw.Draw(image)
    if moment == "avant":
        for i in range(int(rng.integers(5, 9))):  # marquages de stationnement ou de jeux
            x = 40 + i * 75
            dessin.line([(x, 40), (x + 30, 250)], fill=(235, 235, 225), width=5)
        dessin.ellipse([400, 260, 520, 340], outline=(240, 220, 90), width=5)
        for _ in range(6):  # fissures
            x, y = rng.integers(0, largeur), rng.integers(0, hauteur - 60)
            dessin.line([(x, y), (x + rng.integers(-60, 60), y + rng.integers(10, 60))], fill=(55, 55, 58), width=2)
    else:
        dessin.polygon([(0, 300), (largeur, 230), (largeur, 270), (0, 345)], fill=(176, 132, 84))  # allée paillée
        for _ in range(int(rng.integers(4, 8))):  # arbres
            x, y, r = int(rng.integers(30, largeur - 30)), int(rng.integers(40, 260)), int(rng.integers(28, 55))
            dessin.ellipse([x - r, y - r, x + r, y + r], fill=(34, 92, 40))
            dessin.ellipse([x - r // 2, y - r // 2, x + r // 4, y + r // 4], fill=(60, 125, 55))
        couleurs = [(230, 80, 90), (250, 210, 70), (190, 120, 220), (250, 250, 245)]
        for _ in range(160):  # fleurs
            x, y = int(rng.integers(0, largeur)), int(rng.integers(0, hauteur - 40))
            dessin.ellipse([x - 3, y - 3, x + 3, y + 3], fill=couleurs[int(rng.integers(len(couleurs)))])
    dessin.rectangle([0, hauteur - 36, largeur, hauteur], fill=(20, 20, 20))
    police, accents = _choisir_police(ImageFont)
    if not accents:  # police intégrée de Pillow : pas de lettres accentuées
        legende = unicodedata.normalize("NFKD", legende).encode("ascii", "ignore").decode("ascii")
    dessin.text((10, hauteur - 28), legende[:90], fill=(255, 255, 255), font=police)
    chemin.parent.mkdir(parents=True, exist_ok=True)
    image.save(chemin, "JPEG", quality=int(p["qualite_jpeg"]))


def generer_photos(operations: list[dict], dossier: Path, nombre: int, parametres: dict,
                   rng: np.random.Generator) -> int:
    """Photos avant/après pour quelques opérations réalisées et validées ; renvoie le nombre de fichiers."""
    textes = lire_textes()
    preferes = ("cour_ecole", "place", "parking", "parvis", "espace_public", "cour_etablissement")
    eligibles = [i for i, o in enumerate(operations) if o["statut"] == "realisee" and o["validation"] == "validee"
                 and o["type_site"] in preferes]
    choisis = (sorted(rng.choice(eligibles, size=min(nombre, len(eligibles)), replace=False).tolist())
               if eligibles else [])
    fichiers = 0
    for i in choisis:
        operation = operations[i]
        for moment in ("avant", "apres"):
            relatif = f"{SOUS_DOSSIER_PHOTOS}/op{i + 1:04d}_{moment}.jpg"
            revetement = textes["revetements_photos"].get(operation["zones"][0]["revetement_avant"], "")
            legende = textes["legendes_photos"][moment].format(nom=operation["nom"], revetement=revetement)
            dessiner_photo(moment, legende, dossier / relatif, parametres, rng)
            operation["photos"].append({"moment": moment, "chemin": relatif, "legende": legende,
                                        "ajoutee_le": operation["cree_le"]})
            fichiers += 1
    return fichiers
