"""Archives ZIP (Shapefile zippé, KMZ, classeur XLSX) : contrôles de sécurité et extraction."""

from __future__ import annotations

import io
import re
import stat
import zipfile
from pathlib import Path, PurePosixPath

from donnees.erreurs import ErreurDonnees
from donnees.format import formater_nombre
from donnees.lecture_vecteur import ERREURS_LECTURE, est_polygonal, lire_infos, nettoyer_exception

from donnees.import_operations.seuils import MIO, limite

# Bornes lues dans limites_import.json (justifiées là).
TAILLE_MAX_DECOMPRESSEE = int(limite("taille_max_decompressee_mo") * MIO)  # total décompressé (zip, kmz, xlsx)
RATIO_MAX_COMPRESSION = limite("ratio_max_compression")  # au-delà (entrée > 1 Mo), archive refusée (bombe)
TAILLE_RATIO_CONTROLE = MIO
NB_MAX_FICHIERS_ARCHIVE = int(limite("nb_max_fichiers_archive"))
LONGUEUR_MAX_NOM_ARCHIVE = int(limite("longueur_max_nom_archive"))


# ------------------------------------------------------------------------------- archives


def _ouvrir_archive(octets: bytes, nom: str, profondeur_max: int | None,
                    illisible: str | None = None) -> zipfile.ZipFile:
    """Ouvre une archive ZIP après contrôle de son contenu (chemins, tailles, taux de compression)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(octets))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise ErreurDonnees(illisible or f"{nom} : archive ZIP illisible ou corrompue. Recréez-la (clic droit "
                            "→ « Compresser ») et renvoyez-la.", "import", "fichier") from None
    if len(infos) > NB_MAX_FICHIERS_ARCHIVE:
        raise ErreurDonnees(f"{nom} : archive refusée, trop de fichiers ({len(infos)} ; maximum "
                            f"{NB_MAX_FICHIERS_ARCHIVE}).", "import", "fichier")
    total = 0
    for info in infos:
        if len(info.filename.encode("utf-8", "surrogatepass")) > LONGUEUR_MAX_NOM_ARCHIVE:
            raise ErreurDonnees(f"{nom} : archive refusée, un nom de fichier y dépasse {LONGUEUR_MAX_NOM_ARCHIVE} "
                                f"octets (« {info.filename[:24]}… », {len(info.filename)} caractères). Raccourcissez "
                                "les noms des fichiers et recréez l'archive.", "import", "fichier")
        chemin = info.filename.replace("\\", "/")
        parties = [p for p in chemin.split("/") if p]
        if chemin.startswith("/") or re.match(r"^[A-Za-z]:", chemin) or ".." in parties:
            raise ErreurDonnees(f"{nom} : archive refusée, chemin interdit « {info.filename} » (chemin "
                                "absolu ou remontant avec « .. »). Recréez l'archive avec les seuls "
                                "fichiers utiles.", "import", "fichier")
        if parties and parties[0] == "__MACOSX":
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ErreurDonnees(f"{nom} : archive refusée, « {info.filename} » est un lien symbolique.",
                                "import", "fichier")
        if profondeur_max is not None and len(parties) > profondeur_max:
            raise ErreurDonnees(f"{nom} : archive refusée, chemin trop imbriqué « {info.filename} » "
                                f"(au plus {profondeur_max - 1} dossier). Placez les fichiers à la racine "
                                "de l'archive.", "import", "fichier")
        if info.flag_bits & 0x1:
            raise ErreurDonnees(f"{nom} : archive protégée par un mot de passe : envoyez-la sans mot de "
                                "passe.", "import", "fichier")
        total += info.file_size
        if (info.file_size > TAILLE_RATIO_CONTROLE
                and info.file_size > RATIO_MAX_COMPRESSION * max(info.compress_size, 1)):
            raise ErreurDonnees(f"{nom} : archive refusée, « {info.filename} » est anormalement compressé "
                                f"({formater_nombre(info.file_size / max(info.compress_size, 1))} fois ; maximum "
                                f"{RATIO_MAX_COMPRESSION}) : risque de bombe de décompression.",
                                "import", "fichier")
    if total > TAILLE_MAX_DECOMPRESSEE:
        raise ErreurDonnees(f"{nom} : archive refusée, son contenu décompressé ferait "
                            f"{formater_nombre(total / MIO, 0, 'Mo')} (maximum "
                            f"{formater_nombre(TAILLE_MAX_DECOMPRESSEE / MIO, 0, 'Mo')}).", "import", "fichier")
    return archive


def _extraire_archive(archive: zipfile.ZipFile, nom: str, dossier: Path) -> list[Path]:
    """Extrait à plat (noms de base seulement), en comptant les octets réellement décompressés."""
    restant = TAILLE_MAX_DECOMPRESSEE
    extraits: list[Path] = []
    for info in archive.infolist():
        chemin = info.filename.replace("\\", "/")
        parties = [p for p in chemin.split("/") if p]
        if info.is_dir() or not parties or parties[0] == "__MACOSX" or parties[-1].startswith("._"):
            continue
        cible = dossier / PurePosixPath(parties[-1]).name
        if cible.exists():
            raise ErreurDonnees(f"{nom} : archive refusée, deux fichiers s'appellent « {cible.name} ». "
                                "Gardez un seul jeu de fichiers.", "import", "fichier")
        try:
            with archive.open(info) as source, open(cible, "wb") as destination:
                while morceau := source.read(1024 * 1024):
                    restant -= len(morceau)
                    if restant < 0:
                        raise ErreurDonnees(f"{nom} : archive refusée, son contenu décompressé dépasse "
                                            f"{formater_nombre(TAILLE_MAX_DECOMPRESSEE / MIO, 0, 'Mo')}.",
                                            "import", "fichier")
                    destination.write(morceau)
        except ErreurDonnees:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise ErreurDonnees(f"{nom} : archive corrompue (« {info.filename[:80]} » illisible ; "
                                f"{nettoyer_exception(exc)}). Recréez-la et renvoyez-la.", "import",
                                "fichier") from None
        extraits.append(cible)
    return extraits


def _choisir_dans_archive(extraits: list[Path], nom: str, format_: str, couche: str | None) -> tuple[Path, str]:
    par_extension: dict[str, list[Path]] = {}
    for chemin in extraits:
        par_extension.setdefault(chemin.suffix.lower(), []).append(chemin)
    contenu = ", ".join(sorted(p.name for p in extraits)) or "rien"
    if format_ == "kmz":
        if ".kml" not in par_extension:
            raise ErreurDonnees(f"{nom} : aucun fichier .kml dans l'archive KMZ (contenu : {contenu}).",
                                "import", "fichier")
        return par_extension[".kml"][0], "kml"
    if ".zip" in par_extension:
        raise ErreurDonnees(f"{nom} : archive refusée, elle contient d'autres archives "
                            f"({', '.join(p.name for p in par_extension['.zip'])}). Envoyez une archive "
                            "simple.", "import", "fichier")
    shapefiles = par_extension.get(".shp", [])
    if not shapefiles:
        for extension, format_interne in ((".gpkg", "gpkg"), (".geojson", "geojson"), (".json", "geojson"),
                                          (".kml", "kml")):
            if extension in par_extension:
                return par_extension[extension][0], format_interne
        raise ErreurDonnees(f"{nom} : aucun fichier .shp dans l'archive (contenu : {contenu}). Un Shapefile "
                            "zippé doit contenir au moins le .shp, le .dbf, le .shx et le .prj.",
                            "import", "fichier")
    if couche:
        choisis = [p for p in shapefiles if p.stem == couche]
        if not choisis:
            raise ErreurDonnees(f"{nom} : couche « {couche} » absente de l'archive (Shapefiles : "
                                f"{', '.join(p.stem for p in shapefiles)}).", "import", "couche")
        shp = choisis[0]
    else:
        shp = shapefiles[0]
        for candidat in shapefiles:
            try:
                if est_polygonal(lire_infos(candidat).get("geometry_type", "")):
                    shp = candidat
                    break
            except ERREURS_LECTURE:  # Shapefile illisible : on essaie le suivant
                continue
    noms = {p.name.lower() for p in extraits}
    manquants = [f"{shp.stem}{e}" for e in (".dbf", ".shx") if f"{shp.stem}{e}".lower() not in noms]
    if manquants:
        raise ErreurDonnees(f"{nom} : Shapefile incomplet, il manque {', '.join(manquants)} dans l'archive. "
                            "Ajoutez tous les fichiers du Shapefile (.shp, .dbf, .shx, .prj).", "import",
                            "fichier")
    return shp, "shapefile"


