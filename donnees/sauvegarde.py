"""Sauvegarde et restauration d'un territoire : dossier de données et base des opérations (``desimper
sauvegarder`` et ``desimper restaurer``).

**L'archive** est un fichier tar (compressé en gzip si son nom finit par ``.gz`` ou ``.tgz``) qui contient :

- ``base/desimper.sqlite`` (SQLite, copie par l'API de sauvegarde en ligne) ou ``base/desimper.dump``
  (PostgreSQL, ``pg_dump`` format custom) : voir :mod:`donnees.sauvegarde_base` ;
- ``donnees/…`` : les fichiers du dossier de données (territoire, sources, couches, photos…), sauf ``cache/``
  (recalculé), ``archives/`` (anciens territoires), les fichiers cachés (fichiers temporaires) et les liens
  symboliques ;
- ``manifeste.json`` : format, date, territoire, moteur, révision Alembic du schéma, comptes par table, et la
  liste des fichiers avec leur taille et leur empreinte SHA-256 ; ``manifeste.sha256`` : l'empreinte du
  manifeste.

**Cohérence.** La base est copiée d'abord (un seul instantané), les fichiers ensuite : toute photo citée par
la base copiée existait déjà (le magasin écrit la photo avant l'opération), elle est donc dans l'archive.

**Restauration.** L'archive est lue entièrement et chaque fichier vérifié (empreinte, taille, comptes de la
base) dans un dossier de préparation avant de toucher quoi que ce soit : une archive altérée est refusée.
Un dossier qui contient déjà un territoire (ou une base PostgreSQL déjà remplie) n'est remplacé qu'avec
``remplacer=True`` ; l'ancien territoire est alors d'abord sauvegardé dans
``archives/avant-restauration-<horodatage>.tar`` (restaurable par la même commande). Les fichiers sont
échangés par renommages et la base PostgreSQL remplacée en une transaction ; un échec remet l'ancien
territoire en place. Les sessions de connexion restaurées sont révoquées : chacun se reconnecte.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import tarfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from donnees.config import NOM_BASE_SQLITE, NOM_FICHIER_TERRITOIRE, SOUS_DOSSIER_PHOTOS, url_base
from donnees.erreurs import ErreurDonnees, ErreurPanne, traduire_panne
from donnees.format import formater_nombre, neutraliser_controles
from donnees import sauvegarde_base as base_sauvegarde

FORMAT_ARCHIVE = 1
NOM_MANIFESTE = "manifeste.json"
NOM_EMPREINTE = "manifeste.sha256"
PREFIXE_DONNEES = "donnees/"
FICHIERS_BASE = {"sqlite": "base/desimper.sqlite", "postgresql": "base/desimper.dump"}
SOUS_DOSSIER_ARCHIVES = "archives"
EXCLUS_RACINE = {"cache", SOUS_DOSSIER_ARCHIVES} | {NOM_BASE_SQLITE + s for s in ("", "-wal", "-shm", "-journal")}
MOTIF_REVOCATION = "restauration"
TAILLE_BLOC = 1 << 20


# ------------------------------------------------------------------------------------------- pannes


# Erreurs de chemin qui ne sont pas des pannes du système (celles-ci : donnees.erreurs.traduire_panne).
_CAUSES_CHEMIN = {
    errno.ENOENT: "fichier ou dossier introuvable",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EISDIR: "c'est un dossier, pas un fichier",
}


def traduire_erreur_systeme(exc: OSError, action: str, chemin: Path | str) -> ErreurDonnees:
    """Message français d'une erreur du système de fichiers : pannes (disque plein, droits, lecture seule)
    traduites par :func:`donnees.erreurs.traduire_panne`, erreurs de chemin ici."""
    lieu = neutraliser_controles(chemin)
    panne = traduire_panne(exc, lieu=lieu)
    if panne is not None:
        return ErreurPanne(f"{action} impossible ({lieu}) : {panne}", panne.genre)
    cause = _CAUSES_CHEMIN.get(exc.errno, f"erreur du système ({exc.strerror or type(exc).__name__})")
    return ErreurDonnees(f"{action} impossible ({lieu}) : {cause}.", "sauvegarde")


def _horodatage() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


# --------------------------------------------------------------------------------------- sauvegarde


def _moteur(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def lister_fichiers(dossier: Path, exclure: tuple[Path, ...] = ()) -> list[Path]:
    """Fichiers ordinaires du dossier de données à sauvegarder (chemins relatifs, triés) ; voir le module."""
    exclus = {p.resolve() for p in exclure}
    fichiers = []
    for racine, dossiers, noms in os.walk(dossier, followlinks=False):
        relatif = Path(racine).relative_to(dossier)
        dossiers[:] = sorted(d for d in dossiers if not d.startswith(".") and not (Path(racine) / d).is_symlink()
                             and not (relatif == Path(".") and d in EXCLUS_RACINE))
        for nom in noms:
            chemin = Path(racine) / nom
            if (nom.startswith(".") or (relatif == Path(".") and nom in EXCLUS_RACINE) or chemin.is_symlink()
                    or not chemin.is_file() or chemin.resolve() in exclus):
                continue
            fichiers.append(relatif / nom)
    return sorted(fichiers)


class _LecteurEmpreinte(io.RawIOBase):
    """Fichier lu par tarfile dont l'empreinte SHA-256 est calculée au passage (une seule lecture)."""

    def __init__(self, fichier):
        self.fichier = fichier
        self.empreinte = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, taille=-1):
        morceau = self.fichier.read(taille)
        self.empreinte.update(morceau)
        return morceau


def _ajouter(tar: tarfile.TarFile, chemin: Path, nom: str) -> dict:
    """Ajoute un fichier à l'archive ; renvoie sa ligne du manifeste (chemin, octets, sha256)."""
    with open(chemin, "rb") as fichier:
        infos = tar.gettarinfo(fileobj=fichier, arcname=nom)
        infos.uid = infos.gid = 0
        infos.uname = infos.gname = ""
        infos.mode = 0o644
        lecteur = _LecteurEmpreinte(fichier)
        tar.addfile(infos, lecteur)
    return {"chemin": nom, "octets": infos.size, "sha256": lecteur.empreinte.hexdigest()}


def _ajouter_octets(tar: tarfile.TarFile, nom: str, octets: bytes) -> None:
    infos = tarfile.TarInfo(nom)
    infos.size, infos.mode, infos.mtime = len(octets), 0o644, int(datetime.now(timezone.utc).timestamp())
    tar.addfile(infos, io.BytesIO(octets))


def _mode_ecriture(archive: Path) -> str:
    return "w:gz" if archive.name.endswith((".gz", ".tgz")) else "w"


def _lire_territoire_brut(dossier: Path) -> dict | None:
    try:
        description = json.loads((dossier / NOM_FICHIER_TERRITOIRE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {"nom": description.get("nom"), "demo": description.get("demo")} if isinstance(description, dict) else None


def _verifier_destination(archive: Path) -> None:
    if archive.exists():
        raise ErreurDonnees(f"L'archive {neutraliser_controles(archive)} existe déjà : choisissez un autre nom "
                            "(--vers), une sauvegarde n'en écrase jamais une autre.", "sauvegarde")
    if not archive.parent.is_dir():
        raise ErreurDonnees(f"Le dossier de destination {neutraliser_controles(archive.parent)} n'existe pas : "
                            "créez-le ou corrigez --vers.", "sauvegarde")


def sauvegarder(dossier: Path, archive: Path, url: str | None = None) -> dict:
    """Écrit l'archive de sauvegarde du territoire de ``dossier`` (base ``url``, défaut : celle du dossier) ;
    renvoie le manifeste. L'archive est écrite à côté sous un nom caché puis renommée : jamais à moitié."""
    dossier, archive = Path(dossier).resolve(), Path(archive).expanduser().resolve()
    url = url or url_base(dossier)
    if not dossier.is_dir():
        raise ErreurDonnees(f"Le dossier de données {neutraliser_controles(dossier)} n'existe pas : rien à "
                            "sauvegarder. Corrigez --dossier.", "sauvegarde")
    _verifier_destination(archive)
    moteur = _moteur(url)
    provisoire = archive.with_name(f".{archive.name}.{os.getpid()}.partiel")
    copie_base = archive.with_name(f".{archive.name}.{os.getpid()}.base")
    try:
        if moteur == "sqlite":
            base = base_sauvegarde.instantane_sqlite(url, copie_base)
        else:
            base = base_sauvegarde.instantane_postgresql(url, copie_base)
        manifeste = _ecrire_archive(dossier, (provisoire, _mode_ecriture(archive)), copie_base, base,
                                    exclure=(archive, copie_base, provisoire))
        os.replace(provisoire, archive)
    except OSError as exc:
        raise traduire_erreur_systeme(exc, "Écriture de la sauvegarde", archive) from None
    finally:
        provisoire.unlink(missing_ok=True)
        copie_base.unlink(missing_ok=True)
    return manifeste


def _ecrire_archive(dossier: Path, sortie: tuple[Path, str], copie_base: Path, base: dict, exclure: tuple) -> dict:
    """Archive (``sortie`` : fichier et mode tarfile) : base, fichiers du dossier, puis manifeste et empreinte."""
    provisoire, mode = sortie
    fichiers = lister_fichiers(dossier, exclure)
    with tarfile.open(provisoire, mode, **({"compresslevel": 6} if mode == "w:gz" else {})) as tar:
        lignes = [_ajouter(tar, copie_base, FICHIERS_BASE[base["moteur"]])]
        lignes += [_ajouter(tar, dossier / relatif, PREFIXE_DONNEES + relatif.as_posix()) for relatif in fichiers]
        manifeste = {
            "format": FORMAT_ARCHIVE, "application": "Désimper",
            "cree_le": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            "territoire": _lire_territoire_brut(dossier),
            "base": {**base, "fichier": FICHIERS_BASE[base["moteur"]]},
            "fichiers": lignes,
        }
        texte = json.dumps(manifeste, ensure_ascii=False, indent=1).encode("utf-8")
        _ajouter_octets(tar, NOM_MANIFESTE, texte)
        _ajouter_octets(tar, NOM_EMPREINTE, f"{hashlib.sha256(texte).hexdigest()}  {NOM_MANIFESTE}\n".encode())
    with open(provisoire, "rb") as fichier:
        os.fsync(fichier.fileno())
    return manifeste


def decrire_manifeste(manifeste: dict) -> str:
    """Résumé français d'un manifeste (territoire, base, comptes, fichiers)."""
    base = manifeste["base"]
    comptes = ", ".join(f"{nom} : {formater_nombre(n)}" for nom, n in base["comptes"].items())
    octets = sum(ligne["octets"] for ligne in manifeste["fichiers"])
    territoire = (manifeste.get("territoire") or {}).get("nom") or "(sans territoire.json)"
    prefixe_photos = f"{PREFIXE_DONNEES}{SOUS_DOSSIER_PHOTOS}/"
    photos = sum(ligne["chemin"].startswith(prefixe_photos) for ligne in manifeste["fichiers"])
    return (f"territoire « {neutraliser_controles(territoire)} », base {base['moteur']} (schéma "
            f"{base.get('revision_schema') or 'sans version'} ; {comptes}), "
            f"{formater_nombre(len(manifeste['fichiers']))} fichiers dont {formater_nombre(photos)} photos, "
            f"{formater_nombre(octets / 2**20, 1, 'Mo')}, créée le {manifeste['cree_le']}")


# ------------------------------------------------------------------------------------ lecture, contrôle


def _refus(archive: Path, raison: str) -> ErreurDonnees:
    return ErreurDonnees(f"Archive {neutraliser_controles(archive)} refusée : {raison}. Rien n'a été restauré ; "
                         "reprenez une autre sauvegarde.", "sauvegarde")


def _chemin_sur(nom: str) -> PurePosixPath | None:
    """Chemin relatif d'un membre d'archive sans danger (ni absolu, ni ``..``, ni octet nul, ni ``\\``)."""
    chemin = PurePosixPath(nom)
    if (not nom or "\x00" in nom or "\\" in nom or chemin.is_absolute()
            or any(p in ("..", ".", "") for p in nom.split("/"))):
        return None
    return chemin


def _lire_manifeste(tar: tarfile.TarFile, archive: Path) -> dict:
    membres = {m.name: m for m in tar.getmembers()}
    if NOM_MANIFESTE not in membres or NOM_EMPREINTE not in membres:
        raise _refus(archive, "ce n'est pas une sauvegarde de Désimper (manifeste absent)")
    texte = tar.extractfile(membres[NOM_MANIFESTE]).read()
    empreinte = tar.extractfile(membres[NOM_EMPREINTE]).read().decode("ascii", "replace").split()[:1]
    if empreinte != [hashlib.sha256(texte).hexdigest()]:
        raise _refus(archive, "le manifeste a été modifié (empreinte SHA-256 différente)")
    try:
        manifeste = json.loads(texte)
        lignes = manifeste["fichiers"]
        base = manifeste["base"]
        assert base["moteur"] in FICHIERS_BASE and base["fichier"] == FICHIERS_BASE[base["moteur"]]
        assert all(_chemin_sur(ligne["chemin"]) for ligne in lignes)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise _refus(archive, "manifeste illisible") from None
    if manifeste.get("format") != FORMAT_ARCHIVE:
        raise _refus(archive, f"format {neutraliser_controles(manifeste.get('format'))} inconnu de cette version")
    return manifeste


def _extraire(tar: tarfile.TarFile, manifeste: dict, preparation: Path, archive: Path) -> None:
    """Extrait chaque fichier du manifeste dans ``preparation`` en vérifiant taille et empreinte."""
    membres = {m.name: m for m in tar.getmembers()}
    attendus = {ligne["chemin"]: ligne for ligne in manifeste["fichiers"]}
    inattendus = set(membres) - set(attendus) - {NOM_MANIFESTE, NOM_EMPREINTE}
    if inattendus:
        raise _refus(archive, f"fichier hors du manifeste ({neutraliser_controles(sorted(inattendus)[0])[:120]})")
    for nom, ligne in attendus.items():
        membre = membres.get(nom)
        if membre is None or not membre.isreg():
            raise _refus(archive, f"fichier {neutraliser_controles(nom)[:120]} absent ou qui n'est pas un fichier")
        cible = preparation / PurePosixPath(nom)
        cible.parent.mkdir(parents=True, exist_ok=True)
        empreinte = hashlib.sha256()
        with tar.extractfile(membre) as source, open(cible, "wb") as destination:
            while morceau := source.read(TAILLE_BLOC):
                empreinte.update(morceau)
                destination.write(morceau)
        if membre.size != ligne["octets"] or empreinte.hexdigest() != ligne["sha256"]:
            raise _refus(archive, f"le fichier {neutraliser_controles(nom)[:120]} a été modifié (empreinte SHA-256 "
                                  "différente de celle du manifeste)")


def verifier_archive(archive: Path, preparation: Path | None = None) -> dict:
    """Lit l'archive, vérifie manifeste et empreintes (et extrait dans ``preparation`` si donné) ; renvoie le
    manifeste. Lève :class:`ErreurDonnees` (message français) si l'archive manque, est tronquée ou altérée."""
    archive = Path(archive).expanduser()
    if not archive.is_file():
        raise ErreurDonnees(f"Archive {neutraliser_controles(archive)} introuvable : vérifiez le chemin.", "sauvegarde")
    try:
        with tarfile.open(archive, "r:*") as tar:
            manifeste = _lire_manifeste(tar, archive)
            if preparation is not None:
                _extraire(tar, manifeste, preparation, archive)
            else:
                _verifier_empreintes(tar, manifeste, archive)
    except (tarfile.TarError, EOFError, UnicodeDecodeError):
        raise _refus(archive, "fichier tronqué ou abîmé (ce n'est pas une archive tar lisible)") from None
    except OSError as exc:
        if exc.errno is None:  # erreurs de décompression (gzip abîmé) : pas une panne du système
            raise _refus(archive, "fichier tronqué ou abîmé") from None
        raise traduire_erreur_systeme(exc, "Lecture de l'archive", archive) from None
    return manifeste


def _verifier_empreintes(tar: tarfile.TarFile, manifeste: dict, archive: Path) -> None:
    membres = {m.name: m for m in tar.getmembers()}
    for ligne in manifeste["fichiers"]:
        membre = membres.get(ligne["chemin"])
        if membre is None or not membre.isreg():
            raise _refus(archive, f"fichier {neutraliser_controles(ligne['chemin'])[:120]} absent")
        empreinte = hashlib.sha256()
        with tar.extractfile(membre) as source:
            while morceau := source.read(TAILLE_BLOC):
                empreinte.update(morceau)
        if empreinte.hexdigest() != ligne["sha256"]:
            raise _refus(archive, f"le fichier {neutraliser_controles(ligne['chemin'])[:120]} a été modifié")


# -------------------------------------------------------------------------------------- restauration


def territoire_vivant(dossier: Path, url: str) -> bool:
    """Vrai si ``dossier`` contient déjà des fichiers (hors ``archives/`` et fichiers cachés) ou si la base
    PostgreSQL de ``url`` contient déjà des données du magasin."""
    dossier = Path(dossier)
    if dossier.is_dir() and any(e.name != SOUS_DOSSIER_ARCHIVES and not e.name.startswith(".")
                                for e in dossier.iterdir()):
        return True
    return _moteur(url) == "postgresql" and base_sauvegarde.base_postgresql_occupee(url)


def _verifier_restauration(archive: Path, dossier: Path, url: str, remplacer: bool) -> bool:
    """Contrôles avant toute écriture ; renvoie vrai si un territoire vivant sera remplacé."""
    if _moteur(url) == "sqlite" and base_sauvegarde.chemin_sqlite(url) != dossier / NOM_BASE_SQLITE:
        raise ErreurDonnees(f"La base SQLite configurée ({neutraliser_controles(base_sauvegarde.chemin_sqlite(url))}) "
                            f"n'est pas celle du dossier ({NOM_BASE_SQLITE}) : retirez DESIMPER_BASE_URL pour "
                            "restaurer dans le dossier.", "sauvegarde")
    if archive.is_relative_to(dossier) and not archive.is_relative_to(dossier / SOUS_DOSSIER_ARCHIVES):
        raise ErreurDonnees(f"L'archive {neutraliser_controles(archive)} est dans le dossier à remplacer : "
                            f"placez-la ailleurs (ou dans {SOUS_DOSSIER_ARCHIVES}/).", "sauvegarde")
    if dossier.exists() and not dossier.is_dir():
        raise ErreurDonnees(f"{neutraliser_controles(dossier)} n'est pas un dossier : corrigez --dossier.",
                            "sauvegarde")
    vivant = territoire_vivant(dossier, url)
    if vivant and not remplacer:
        raise ErreurDonnees(f"Le dossier {neutraliser_controles(dossier)} contient déjà un territoire (ou la base "
                            "des opérations est déjà remplie) : restauration refusée, rien n'a été modifié. Ajoutez "
                            "--remplacer pour le remplacer (l'ancien sera rangé dans "
                            f"{SOUS_DOSSIER_ARCHIVES}/avant-restauration-<date>/), ou restaurez dans un dossier vide.",
                            "sauvegarde")
    return vivant


def restaurer(archive: Path, dossier: Path, url: str | None = None, remplacer: bool = False) -> dict:
    """Restaure l'archive dans ``dossier`` (base ``url``, défaut : celle du dossier) ; renvoie ``{"manifeste",
    "ancien"}`` (``ancien`` : dossier où l'ancien territoire a été rangé, ou None). Tout ou rien : voir le module."""
    archive = Path(archive).expanduser().resolve()
    dossier = Path(dossier).expanduser().resolve()
    url = url or url_base(dossier)
    vivant = _verifier_restauration(archive, dossier, url, remplacer)
    cree = not dossier.exists()
    preparation = dossier / f".restauration-{_horodatage()}-{os.getpid()}"
    reussi = False
    try:
        preparation.mkdir(parents=True)
        manifeste = verifier_archive(archive, preparation)
        _verifier_noms(manifeste, archive)
        moteur = manifeste["base"]["moteur"]
        if moteur != _moteur(url):
            raise _refus(archive, f"elle contient une base {moteur} et la destination est une base {_moteur(url)} "
                                  "(DESIMPER_BASE_URL) ; restaurez vers le même moteur")
        if moteur == "sqlite":
            base_sauvegarde.preparer_sqlite(preparation / FICHIERS_BASE["sqlite"], manifeste["base"], MOTIF_REVOCATION)
        ancien = dossier / SOUS_DOSSIER_ARCHIVES / f"avant-restauration-{_horodatage()}" if vivant else None
        _mettre_en_place(dossier, preparation, url, manifeste, ancien)
        reussi = True
    except OSError as exc:
        raise traduire_erreur_systeme(exc, "Restauration", getattr(exc, "filename", None) or dossier) from None
    finally:
        shutil.rmtree(preparation, ignore_errors=True)
        if cree and not reussi:
            shutil.rmtree(dossier, ignore_errors=True)
    return {"manifeste": manifeste, "ancien": ancien}


def _verifier_noms(manifeste: dict, archive: Path) -> None:
    """Refuse un fichier de l'archive qui viserait la base, le cache, les archives ou un fichier caché."""
    for ligne in manifeste["fichiers"]:
        nom = ligne["chemin"]
        if nom == manifeste["base"]["fichier"]:
            continue
        premier = nom[len(PREFIXE_DONNEES):].split("/", 1)[0] if nom.startswith(PREFIXE_DONNEES) else ""
        if not premier or premier in EXCLUS_RACINE or any(p.startswith(".") for p in nom.split("/")):
            raise _refus(archive, f"fichier interdit dans une sauvegarde ({neutraliser_controles(nom)[:120]})")


def _mettre_en_place(dossier: Path, preparation: Path, url: str, manifeste: dict, ancien: Path | None) -> None:
    """Range l'ancien territoire dans ``ancien``, place les fichiers préparés et la base ; défait tout si un pas
    échoue (l'ancien territoire reste en place)."""
    deplaces: list[tuple[Path, Path]] = []
    places: list[Path] = []
    moteur = manifeste["base"]["moteur"]
    try:
        if ancien is not None:
            ancien.mkdir(parents=True)
            if moteur == "postgresql" and base_sauvegarde.base_postgresql_occupee(url):
                base_sauvegarde.instantane_postgresql(url, ancien / "base-avant-restauration.dump")
            for entree in sorted(dossier.iterdir()):
                if entree.name != SOUS_DOSSIER_ARCHIVES and entree != preparation:
                    os.replace(entree, ancien / entree.name)
                    deplaces.append((entree, ancien / entree.name))
        nouveaux = preparation / PREFIXE_DONNEES.rstrip("/")
        for entree in sorted(nouveaux.iterdir()) if nouveaux.is_dir() else []:
            os.replace(entree, dossier / entree.name)
            places.append(dossier / entree.name)
        if moteur == "sqlite":
            os.replace(preparation / FICHIERS_BASE["sqlite"], dossier / NOM_BASE_SQLITE)
            places.append(dossier / NOM_BASE_SQLITE)
        else:
            base_sauvegarde.restaurer_postgresql(url, preparation / FICHIERS_BASE["postgresql"], manifeste["base"],
                                                 MOTIF_REVOCATION)
    except BaseException:
        for chemin in reversed(places):
            shutil.rmtree(chemin) if chemin.is_dir() else chemin.unlink(missing_ok=True)
        for origine, rangement in reversed(deplaces):
            os.replace(rangement, origine)
        if ancien is not None:
            shutil.rmtree(ancien, ignore_errors=True)
        raise
