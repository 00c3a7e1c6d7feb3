"""Fichiers et nomenclatures des ressources (issue 16, bibliothèque partagée).

- Nomenclatures : genres (``donnees/nomenclatures/genres_ressource.csv``, dont ceux qui portent une échéance) et
  thèmes (``themes_ressource.csv``), lus par des schémas pandera ; paramètres (taille maximale, types acceptés,
  délai « échéance proche », longueurs) dans ``donnees/parametres_ressources.json`` avec leur justification.
- Contrôle d'un fichier envoyé (:func:`controler_fichier`) : extension ET contenu (signature des premiers octets,
  archive zip au bon contenu pour la bureautique, UTF-8 sans balise pour le texte) ; HTML, SVG, scripts et
  exécutables refusés ; taille maximale ; message français qui nomme le fichier (nom neutralisé). Rien n'est
  écrit tant que le contrôle n'a pas réussi.
- Stockage (:func:`stocker_fichier`) sous ``ressources/<SHA-256 du contenu><extension>`` dans le dossier de données
  du territoire : le nom d'origine n'est jamais un chemin, seulement un libellé gardé (assaini) et proposé au
  téléchargement. Lecture par :func:`resoudre_fichier` seulement (gardes de :mod:`donnees.fichiers_stockes`).
- Adresse d'une ressource-lien : ``http`` ou ``https`` seulement (:func:`verifier_url`).
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import urlsplit


from donnees.erreurs import ErreurDonnees
from donnees.fichiers_stockes import ecrire_stocke, resoudre_stocke
from donnees.format import formater_nombre, neutraliser_controles
from donnees.nomenclatures import lire_libelles, lire_nomenclature
from donnees.validation import lire_parametres_justifies

DOSSIER = Path(__file__).resolve().parent
CHEMIN_PARAMETRES = DOSSIER / "parametres_ressources.json"
SOUS_DOSSIER_RESSOURCES = "ressources"
# Nom stocké : « ressources/ », l'empreinte SHA-256 du contenu, une extension acceptée ; rien d'autre.
MOTIF_NOM_STOCKE = re.compile(rf"{SOUS_DOSSIER_RESSOURCES}/[0-9a-f]{{64}}\.[a-z0-9]{{2,5}}")
LONGUEURS = ("longueur_max_titre", "longueur_max_resume", "longueur_max_url", "longueur_max_nom_fichier")
CONTROLES = ("signature", "webp", "ooxml", "odf", "texte")
# Contenus toujours refusés, quelle que soit l'extension : pages et images actives (HTML, SVG, XML), exécutables.
DEBUTS_ACTIFS = (b"<!doctype", b"<html", b"<svg", b"<?xml", b"<script", b"<head", b"<body", b"<iframe", b"<meta")
SIGNATURES_EXECUTABLES = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa", b"#!")
TAILLE_MAX_MIMETYPE_ODF = 200


@lru_cache(maxsize=None)
def lire_genres_ressource() -> dict[str, dict]:
    """Genres de ressource : code → {``libelle``, ``echeance`` (vrai : échéance obligatoire), ``description``}."""
    table = lire_nomenclature("genres_ressource.csv")
    return {ligne["code"]: {"libelle": ligne["libelle"], "echeance": ligne["echeance"] == "oui",
                            "description": ligne["description"]} for ligne in table.to_dict("records")}


@lru_cache(maxsize=None)
def lire_themes_ressource() -> dict[str, str]:
    """Thèmes des ressources : code → libellé (``donnees/nomenclatures/themes_ressource.csv``)."""
    return lire_libelles("themes_ressource.csv")


def _refus_parametre(cle: str, attendu: str) -> ErreurDonnees:
    return ErreurDonnees(f"Fichier {CHEMIN_PARAMETRES.name}, champ « {cle} » : {attendu}.", "parametres_ressources",
                         cle)


@lru_cache(maxsize=None)
def lire_parametres_ressources() -> dict:
    """Paramètres des ressources (``donnees/parametres_ressources.json``), contrôlés : entiers ≥ 1, types avec
    extensions, type MIME et contrôle connus, chaque valeur justifiée."""
    parametres = lire_parametres_justifies(CHEMIN_PARAMETRES, ("taille_max_octets", "delai_echeance_proche_jours",
                                                               *LONGUEURS), "parametres_ressources", ("types",))
    vues = set()
    for rang, type_ in enumerate(parametres.get("types") or [], start=1):
        extensions = type_.get("extensions") or []
        if (type_.get("controle") not in CONTROLES or not type_.get("mime") or not type_.get("libelle")
                or not extensions or any(not re.fullmatch(r"\.[a-z0-9]{2,5}", e) or e in vues for e in extensions)
                or (type_["controle"] == "signature"
                    and not re.fullmatch(r"(?:[0-9a-f]{2})+", type_.get("signature", "")))
                or (type_["controle"] == "ooxml" and not type_.get("entree"))):
            raise _refus_parametre("types", f"type n° {rang} incomplet ou en double (extensions « .xxx » uniques, "
                                   f"mime, libelle, controle parmi {', '.join(CONTROLES)})")
        vues.update(extensions)
    if not vues:
        raise _refus_parametre("types", "au moins un type de fichier accepté")
    return parametres


def types_acceptes() -> dict[str, dict]:
    """Extension (``.pdf``…) → type accepté (``mime``, ``libelle``, ``controle``…)."""
    return {extension: type_ for type_ in lire_parametres_ressources()["types"] for extension in type_["extensions"]}


def decrire_types_acceptes() -> str:
    """Liste lisible des types acceptés (« PDF (.pdf), image PNG (.png)… »), pour l'aide et les refus."""
    return ", ".join(f"{t['libelle']} ({', '.join(t['extensions'])})" for t in lire_parametres_ressources()["types"])


# ------------------------------------------------------------------------------------ noms et adresses


def assainir_nom_fichier(nom) -> str:
    """Nom d'origine gardé pour l'affichage et le téléchargement : dernier composant (``/`` et ``\\`` retirés),
    Unicode normalisé (NFC), caractères de contrôle et invisibles retirés, blancs réduits, coupé à la longueur
    maximale en gardant l'extension. Jamais utilisé comme chemin."""
    texte = unicodedata.normalize("NFC", str(nom or ""))
    texte = PureWindowsPath(PurePosixPath(texte.replace("\x00", "")).name).name
    texte = "".join(c for c in texte if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    texte = " ".join(texte.split()).strip(" .") or "fichier"
    longueur = lire_parametres_ressources()["longueur_max_nom_fichier"]
    if len(texte) > longueur:
        suffixe = Path(texte).suffix[:10]
        texte = texte[:longueur - len(suffixe)] + suffixe
    return texte


def verifier_url(valeur) -> str:
    """Adresse d'une ressource-lien : ``http://`` ou ``https://`` avec un hôte, sans blanc ni caractère de contrôle ;
    :class:`ErreurDonnees` en français sinon (``javascript:``, ``data:``, ``file:`` refusés)."""
    texte = str(valeur or "").strip()
    longueur = lire_parametres_ressources()["longueur_max_url"]
    affiche = neutraliser_controles(texte)[:80]
    if not texte:
        raise ErreurDonnees("Ressource, champ « adresse » (url) : adresse vide ; collez l'adresse de la page "
                            "(https://…).", "ressource", "url")
    if len(texte) > longueur:
        raise ErreurDonnees(f"Ressource, champ « adresse » (url) : {len(texte)} caractères, au plus {longueur}.",
                            "ressource", "url")
    try:
        morceaux = urlsplit(texte)
    except ValueError:
        morceaux = None
    if (morceaux is None or morceaux.scheme.lower() not in ("http", "https") or not morceaux.hostname
            or any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in texte)):
        raise ErreurDonnees(f"Ressource, champ « adresse » (url) : « {affiche} » n'est pas une adresse web ; "
                            "seules les adresses http:// ou https:// sont acceptées.", "ressource", "url")
    return texte


# ------------------------------------------------------------------------------------ contrôle des fichiers


@dataclass(frozen=True)
class FichierControle:
    """Fichier envoyé et accepté : ``octets``, ``nom`` d'origine assaini, ``extension``, ``mime``, ``taille``,
    ``empreinte`` SHA-256 ; ``chemin`` : nom stocké qu'il prendra (``ressources/<empreinte><extension>``)."""

    octets: bytes
    nom: str
    extension: str
    mime: str
    taille: int
    empreinte: str

    @property
    def chemin(self) -> str:
        return f"{SOUS_DOSSIER_RESSOURCES}/{self.empreinte}{self.extension}"


def _refus(nom: str, raison: str) -> ErreurDonnees:
    return ErreurDonnees(f"Fichier « {neutraliser_controles(nom)[:150]} » : {raison}", "ressource", "fichier")


def _est_actif(octets: bytes) -> bool:
    """Vrai si le début du contenu est du HTML, du SVG ou du XML (après BOM et blancs), ou un exécutable."""
    debut = octets[:1024].lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").lower()
    return debut.startswith(DEBUTS_ACTIFS) or octets.startswith(SIGNATURES_EXECUTABLES)


def _contenu_conforme(octets: bytes, type_: dict) -> bool:
    controle = type_["controle"]
    if controle == "signature":
        return octets.startswith(bytes.fromhex(type_["signature"]))
    if controle == "webp":
        return len(octets) >= 12 and octets[:4] == b"RIFF" and octets[8:12] == b"WEBP"
    if controle == "texte":
        if b"\x00" in octets:
            return False
        try:
            texte = octets.decode("utf-8-sig")
        except UnicodeDecodeError:
            return False
        return not re.search(r"<\s*(script|html|svg|iframe|object|embed|body|head|meta)\b", texte, re.IGNORECASE)
    if not octets.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(octets)) as archive:
            noms = set(archive.namelist())
            if controle == "ooxml":
                return "[Content_Types].xml" in noms and type_["entree"] in noms
            info = archive.getinfo("mimetype") if "mimetype" in noms else None
            if info is None or info.file_size > TAILLE_MAX_MIMETYPE_ODF:
                return False
            return archive.read(info).decode("ascii", "replace").strip() == type_["mime"]
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError):
        return False


def controler_fichier(octets: bytes, nom_fichier) -> FichierControle:
    """Fichier accepté (voir :class:`FichierControle`), ou :class:`ErreurDonnees` en français qui nomme le fichier :
    extension refusée (HTML, SVG, exécutable…), taille au-delà du maximum, fichier vide, contenu qui ne correspond
    pas à l'extension (une page HTML renommée en .pdf)."""
    nom = assainir_nom_fichier(nom_fichier)
    if not isinstance(octets, (bytes, bytearray)):
        raise _refus(nom, "contenu illisible ; envoyez le fichier lui-même.")
    octets = bytes(octets)
    extension = Path(nom).suffix.lower()
    types = types_acceptes()
    accepte = f"Types acceptés : {decrire_types_acceptes()}."
    if extension not in types:
        raise _refus(nom, f"type « {extension or 'sans extension'} » refusé (les pages web, images SVG, scripts et "
                          f"programmes ne sont jamais acceptés). {accepte}")
    maximum = lire_parametres_ressources()["taille_max_octets"]
    if len(octets) > maximum:
        raise _refus(nom, f"{formater_nombre(len(octets), 0, 'octets')}, soit plus que le maximum de "
                          f"{formater_nombre(maximum / 2**20, 0, 'Mo')} par fichier. Réduisez-le ou déposez un lien "
                          "vers la page qui le publie.")
    if not octets:
        raise _refus(nom, "fichier vide ; envoyez le document complet.")
    type_ = types[extension]
    if _est_actif(octets):
        raise _refus(nom, f"le contenu est une page web, une image SVG ou un programme, pas un fichier "
                          f"{type_['libelle']} : refusé. {accepte}")
    if not _contenu_conforme(octets, type_):
        raise _refus(nom, f"le contenu n'est pas un fichier {type_['libelle']} ({extension}) : fichier abîmé, ou "
                          f"d'un autre type renommé. Réenregistrez-le dans son vrai format. {accepte}")
    return FichierControle(octets, nom, extension, type_["mime"], len(octets), hashlib.sha256(octets).hexdigest())


# ------------------------------------------------------------------------------------ stockage


def stocker_fichier(fichier: FichierControle, dossier: Path) -> bool:
    """Écrit le fichier contrôlé sous ``dossier/ressources/`` à son nom stocké ; renvoie vrai s'il est nouveau (faux :
    un fichier identique y était déjà, à ne pas retirer si l'écriture en base échoue)."""
    return ecrire_stocke(fichier.octets, fichier.chemin, dossier, SOUS_DOSSIER_RESSOURCES, MOTIF_NOM_STOCKE,
                         "ressource", fichier.nom, "ressource")


def resoudre_fichier(nom_stocke, dossier: Path) -> Path | None:
    """Fichier d'une ressource stockée, **dans** ``dossier/ressources/`` seulement ; None sinon (voir
    :func:`donnees.fichiers_stockes.resoudre_stocke`). Seule fonction par laquelle on lit un fichier de ressource."""
    return resoudre_stocke(nom_stocke, dossier, SOUS_DOSSIER_RESSOURCES, MOTIF_NOM_STOCKE)


def retirer_fichier(nom_stocke, dossier: Path) -> None:
    """Retire un fichier stocké (écriture en base annulée, ressource supprimée) ; rien si le nom est refusé."""
    chemin = resoudre_fichier(nom_stocke, dossier)
    if chemin is not None:
        chemin.unlink(missing_ok=True)


def lire_octets_fichier(nom_stocke, empreinte: str, dossier: Path) -> bytes:
    """Contenu d'un fichier stocké, vérifié par son empreinte ; :class:`ErreurDonnees` s'il manque ou a changé."""
    chemin = resoudre_fichier(nom_stocke, dossier)
    octets = chemin.read_bytes() if chemin is not None else None
    if octets is None or hashlib.sha256(octets).hexdigest() != empreinte:
        raise ErreurDonnees("Fichier de la ressource absent ou altéré dans le dossier de données : l'administrateur "
                            "doit le restaurer depuis une sauvegarde (desimper restaurer).", "ressource", "fichier")
    return octets
