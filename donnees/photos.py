"""Photos des opérations : contrôle (vraie image JPEG ou PNG, 10 Mo au plus) et nettoyage des métadonnées.

L'image est décodée, redressée selon son orientation EXIF (photo de téléphone), puis réenregistrée à partir
de ses seuls pixels : les métadonnées (EXIF, position GPS, appareil) disparaissent. Le fichier est rangé sous
``photos/`` dans le dossier de données.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from donnees.config import SOUS_DOSSIER_PHOTOS
from donnees.erreurs import ErreurDonnees
from donnees.format import formater_nombre

TAILLE_MAX_OCTETS = 10 * 1024 * 1024
FORMATS = {"JPEG": ".jpg", "PNG": ".png"}
EXTENSIONS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}
PIXELS_MAX = 60_000_000  # garde-fou contre les images « bombes » de décompression


def nettoyer_photo(octets: bytes, nom_fichier: str) -> tuple[bytes, str]:
    """Vérifie qu'il s'agit d'une image JPEG ou PNG d'au plus 10 Mo ; renvoie (octets sans métadonnées, extension).

    Lève :class:`ErreurDonnees` (message en français nommant le fichier) sinon.
    """
    extension = Path(nom_fichier).suffix.lower()
    if extension not in EXTENSIONS:
        raise ErreurDonnees(f"Photo « {nom_fichier} » : extension « {extension or 'absente'} » refusée ; "
                            "envoyez un fichier JPEG (.jpg) ou PNG (.png).", "photo", "fichier")
    if len(octets) > TAILLE_MAX_OCTETS:
        raise ErreurDonnees(f"Photo « {nom_fichier} » : {formater_nombre(len(octets), 0, 'octets')}, soit plus que "
                            f"le maximum de {formater_nombre(TAILLE_MAX_OCTETS / 2**20, 0, 'Mo')}. Réduisez-la "
                            "avant de l'envoyer.", "photo", "fichier")
    try:
        with Image.open(io.BytesIO(octets)) as image:
            if image.format not in FORMATS:
                raise ErreurDonnees(f"Photo « {nom_fichier} » : le contenu n'est pas une image JPEG ou PNG "
                                    f"({image.format or 'format inconnu'}).", "photo", "fichier")
            if image.width * image.height > PIXELS_MAX:
                raise ErreurDonnees(f"Photo « {nom_fichier} » : {image.width} × {image.height} pixels, image "
                                    "trop grande.", "photo", "fichier")
            image.load()
            format_image = image.format
            # Photo de téléphone : les pixels sont remis droits selon l'orientation EXIF avant que les
            # métadonnées, dont cette orientation, ne disparaissent.
            droite = ImageOps.exif_transpose(image)
            propre = Image.frombytes(droite.mode, droite.size, droite.tobytes())  # pixels seuls
            if droite.mode == "P" and droite.getpalette():
                propre.putpalette(droite.getpalette())
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ErreurDonnees(f"Photo « {nom_fichier} » : ce n'est pas une image lisible (fichier abîmé, tronqué "
                            "ou d'un autre type renommé en image). Réenregistrez-la en JPEG ou PNG.", "photo",
                            "fichier") from None
    tampon = io.BytesIO()
    if format_image == "JPEG":
        propre.convert("RGB").save(tampon, format="JPEG", quality=90)
    else:
        propre.save(tampon, format="PNG", optimize=True)
    return tampon.getvalue(), FORMATS[format_image]


def enregistrer_photo(octets: bytes, nom_fichier: str, dossier: Path) -> str:
    """Nettoie la photo et l'écrit sous ``photos/`` ; renvoie son chemin relatif au dossier de données."""
    propres, extension = nettoyer_photo(octets, nom_fichier)
    relatif = Path(SOUS_DOSSIER_PHOTOS) / f"{uuid.uuid4().hex}{extension}"
    (dossier / relatif).parent.mkdir(parents=True, exist_ok=True)
    (dossier / relatif).write_bytes(propres)
    return relatif.as_posix()
