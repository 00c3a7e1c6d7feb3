"""Photos des opérations : contrôle (vraie image JPEG ou PNG, 10 Mo au plus) et nettoyage des métadonnées.

L'image est décodée, redressée selon son orientation EXIF (photo de téléphone), puis réenregistrée à partir
de ses seuls pixels : les métadonnées (EXIF, position GPS, appareil) disparaissent. Le fichier est rangé sous
``photos/`` dans le dossier de données.

Les fichiers sont nommés par le magasin, jamais par l'appelant : ``photos/<empreinte SHA-256 du contenu>.jpg``
(ou ``.png``). Un nom stocké suit :data:`MOTIF_NOM_PHOTO` (les anciens noms ``photos/op0012_avant.jpg`` ou
``photos/<uuid>.png`` aussi) ; tout autre chemin est refusé (:func:`verifier_nom_photo`). Tout lecteur
(fiche, galerie, fenêtres de la carte, exports, vérification) passe par :func:`resoudre_photo`, qui ne rend
qu'un fichier ordinaire situé dans ``photos/`` même : ni chemin absolu, ni ``..``, ni lien symbolique, ni
séparateur encodé (``%2f``), ni octet nul.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from donnees.config import SOUS_DOSSIER_PHOTOS
from donnees.erreurs import ErreurDonnees
from donnees.fichiers_stockes import ecrire_stocke, resoudre_stocke
from donnees.format import formater_nombre, neutraliser_controles

TAILLE_MAX_OCTETS = 10 * 1024 * 1024
FORMATS = {"JPEG": ".jpg", "PNG": ".png"}
EXTENSIONS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}
PIXELS_MAX = 60_000_000  # garde-fou contre les images « bombes » de décompression
# Nom stocké d'une photo : « photos/ » puis lettres minuscules, chiffres ou « _ » (empreinte SHA-256, ancien
# uuid ou opNNNN_avant de la démonstration) et l'extension .jpg ou .png ; rien d'autre.
MOTIF_NOM_PHOTO = re.compile(rf"{SOUS_DOSSIER_PHOTOS}/[a-z0-9_]{{1,64}}\.(?:jpg|png)")


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


def nommer_photo(propres: bytes, extension: str) -> str:
    """Nom stocké d'une photo nettoyée : ``photos/<SHA-256 du contenu><extension>`` (relatif au dossier)."""
    return f"{SOUS_DOSSIER_PHOTOS}/{hashlib.sha256(propres).hexdigest()}{extension}"


def verifier_nom_photo(valeur) -> str:
    """Renvoie ``valeur`` si c'est un nom de photo stocké par le magasin ; lève :class:`ErreurDonnees` sinon."""
    if isinstance(valeur, str) and MOTIF_NOM_PHOTO.fullmatch(valeur):
        return valeur
    affiche = neutraliser_controles(valeur)[:120]
    raise ErreurDonnees(f"Photo : « {affiche} » n'est pas un nom de photo du magasin. Les fichiers de photos sont "
                        f"nommés par le magasin (ex. {SOUS_DOSSIER_PHOTOS}/3a7bd3e2…9c.jpg) : envoyez l'image "
                        "elle-même, jamais un chemin de fichier.", "photo", "chemin")


def resoudre_photo(nom_stocke, dossier: Path) -> Path | None:
    """Fichier d'une photo stockée, **dans** ``dossier/photos/`` seulement ; None si le nom est refusé (voir
    :func:`verifier_nom_photo`), si le fichier manque, n'est pas un fichier ordinaire ou passe par un lien
    symbolique. Seule fonction par laquelle on lit une photo."""
    return resoudre_stocke(nom_stocke, dossier, SOUS_DOSSIER_PHOTOS, MOTIF_NOM_PHOTO)


def verifier_photos_du_magasin(photos, dossier: Path, deja_rattachees=()) -> None:
    """Lève :class:`ErreurDonnees` si une photo de ``photos`` (liste de dictionnaires ``chemin``) n'a pas été
    écrite par le magasin dans ``dossier`` : fichier ordinaire de ``photos/`` dont le nom est l'empreinte
    SHA-256 de son contenu. Les noms de ``deja_rattachees`` (photos déjà liées à l'opération, anciens noms
    compris) sont admis : l'appelant ne peut rattacher que ce que le magasin a nommé."""
    connues = set(deja_rattachees)
    for photo in photos if isinstance(photos, (list, tuple)) else []:
        nom = photo.get("chemin") if isinstance(photo, dict) else None
        if nom in connues:
            continue
        fichier = resoudre_photo(verifier_nom_photo(nom), dossier)
        if fichier is None or fichier.stem != hashlib.sha256(fichier.read_bytes()).hexdigest():
            raise ErreurDonnees(f"Photo : « {neutraliser_controles(nom)[:120]} » n'est pas une photo enregistrée par "
                                "le magasin. Envoyez l'image elle-même : le magasin la nettoie et la nomme.",
                                "photo", "chemin")


def enregistrer_photo(octets: bytes, nom_fichier: str, dossier: Path) -> str:
    """Nettoie la photo et l'écrit sous ``photos/`` ; renvoie son nom stocké (voir :func:`stocker_photo`)."""
    return stocker_photo(octets, nom_fichier, dossier)[0]


def stocker_photo(octets: bytes, nom_fichier: str, dossier: Path) -> tuple[str, bool]:
    """Nettoie la photo et l'écrit sous ``photos/`` à un nom choisi par le magasin (empreinte de son contenu) ;
    renvoie ``(nom stocké, nouvelle)`` (``nouvelle`` faux : une photo identique était déjà stockée, elle
    n'est pas réécrite et ne doit pas être retirée si la saisie échoue). Écriture atomique (fichier
    temporaire puis renommage) ; disque plein ou dossier en lecture seule : :class:`ErreurPanne`, rien d'écrit."""
    propres, extension = nettoyer_photo(octets, nom_fichier)
    relatif = nommer_photo(propres, extension)
    nouvelle = ecrire_stocke(propres, relatif, dossier, SOUS_DOSSIER_PHOTOS, MOTIF_NOM_PHOTO, "photo", nom_fichier,
                             "photo")
    return relatif, nouvelle
