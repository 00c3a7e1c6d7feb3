"""Instance à plusieurs territoires : registre ``instance.json`` du dossier de l'instance.

Un territoire reste un dossier de données (couches, ``territoire.json`` et ses paramètres, objectifs, base des
opérations et des comptes, photos, cache des modèles). Une instance en héberge plusieurs : son registre
``instance.json`` (dossier ``$DESIMPER_INSTANCE``, sinon le dossier de données) les liste (code, nom, dossier,
base facultative) et nomme celui qui s'ouvre par défaut. Sans registre, le dossier de données est l'unique
territoire : rien ne change pour les dossiers existants. ``desimper territoire ajouter`` sur un tel dossier écrit
d'abord le registre qui l'enregistre lui-même comme premier territoire (aucun fichier déplacé).

Les comptes vivent dans la base de chaque territoire : un compte ne vaut que dans son territoire.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from donnees.config import (
    NOM_BASE_SQLITE,
    NOM_FICHIER_INSTANCE,
    NOM_FICHIER_TERRITOIRE,
    TerritoireActif,
    dossier_donnees,
    dossier_instance,
)
from donnees.erreurs import ErreurDonnees
from donnees.modeles_json import MOTIF_CODE_TERRITOIRE, EntreeTerritoire, Instance
from donnees.validation import lire_json_valide

CODE_UNIQUE = "principal"  # code du territoire d'un dossier sans registre (et repli de la migration)
LONGUEUR_MAX_CODE = 40
_MOTIF_CODE = re.compile(MOTIF_CODE_TERRITOIRE)


@dataclass(frozen=True)
class TerritoireInstance:
    """Territoire du registre, chemins résolus : ``dossier`` absolu ; ``base_url`` tel qu'écrit (« $VARIABLE »
    possible) ; ``defaut`` : ouvert par défaut."""

    code: str
    nom: str
    dossier: Path
    base_url: str | None = None
    defaut: bool = False

    @property
    def url(self) -> str:
        """URL SQLAlchemy de sa base : ``base_url`` (variable d'environnement lue), sinon SQLite dans son dossier."""
        if not self.base_url:
            return f"sqlite:///{(self.dossier / NOM_BASE_SQLITE).as_posix()}"
        if self.base_url.startswith("$"):
            valeur = os.environ.get(self.base_url[1:], "").strip()
            if not valeur:
                raise ErreurDonnees(f"Territoire « {self.code} » : la variable d'environnement {self.base_url[1:]} "
                                    "qui doit donner l'URL de sa base est vide ou absente. Définissez-la avant de "
                                    "lancer Désimper.", "instance", "base_url")
            return valeur
        return self.base_url

    @property
    def actif(self) -> TerritoireActif:
        """Ce territoire sous la forme attendue par :func:`donnees.config.activer_territoire`."""
        return TerritoireActif(self.code, self.dossier, self.url)

    @property
    def base_affichee(self) -> str:
        """Base lisible sans secret : « SQLite », « $VARIABLE » ou l'URL sans mot de passe."""
        if not self.base_url:
            return "SQLite (dossier)"
        if self.base_url.startswith("$"):
            return self.base_url
        from sqlalchemy.engine import make_url

        return make_url(self.base_url).render_as_string(hide_password=True)


def chemin_instance(dossier: Path | None = None) -> Path:
    """Fichier du registre des territoires de l'instance."""
    return Path(dossier or dossier_instance()) / NOM_FICHIER_INSTANCE


def lire_instance(dossier: Path | None = None) -> Instance | None:
    """Registre validé, ou None si l'instance n'en a pas (territoire unique) ; fichier fautif → ErreurDonnees."""
    chemin = chemin_instance(dossier)
    if not chemin.is_file():
        return None
    instance = lire_json_valide(chemin, Instance, "instance", "Corrigez le fichier (voir docs/echelle.md).")
    codes = [t.code for t in instance.territoires]
    doublons = sorted({c for c in codes if codes.count(c) > 1})
    if doublons:
        raise ErreurDonnees(f"Fichier {chemin} : code de territoire en double : {', '.join(doublons)}.", "instance",
                            "code")
    if instance.defaut is not None and instance.defaut not in codes:
        raise ErreurDonnees(f"Fichier {chemin} : territoire par défaut « {instance.defaut} » absent de la liste "
                            f"({', '.join(codes)}).", "instance", "defaut")
    return instance


def _resoudre(entree: EntreeTerritoire, racine: Path, defaut: str) -> TerritoireInstance:
    dossier = Path(entree.dossier).expanduser()
    dossier = (dossier if dossier.is_absolute() else racine / dossier).resolve()
    return TerritoireInstance(entree.code, entree.nom, dossier, entree.base_url, entree.code == defaut)


def _nom_dossier_unique(dossier: Path) -> str:
    try:
        return str(json.loads((dossier / NOM_FICHIER_TERRITOIRE).read_text(encoding="utf-8"))["nom"])
    except (OSError, ValueError, KeyError, TypeError):
        return dossier.name


def lister_territoires(dossier: Path | None = None) -> list[TerritoireInstance]:
    """Territoires de l'instance, dans l'ordre du registre ; sans registre, le dossier de données seul (code
    ``principal``, base de l'environnement)."""
    racine = Path(dossier or dossier_instance()).resolve()
    instance = lire_instance(racine)
    if instance is None:
        unique = dossier_donnees().resolve()
        return [TerritoireInstance(CODE_UNIQUE, _nom_dossier_unique(unique), unique, _base_environnement(), True)]
    defaut = instance.defaut or instance.territoires[0].code
    return [_resoudre(entree, racine, defaut) for entree in instance.territoires]


def _base_environnement() -> str | None:
    """Base du dossier sans registre : ``$DESIMPER_BASE_URL`` si elle est définie (sans l'écrire : elle peut
    porter un mot de passe), sinon SQLite dans le dossier."""
    return "$DESIMPER_BASE_URL" if os.environ.get("DESIMPER_BASE_URL", "").strip() else None


def trouver_territoire(code: str | None, dossier: Path | None = None) -> TerritoireInstance:
    """Territoire ``code`` de l'instance (None : celui par défaut) ; code inconnu → ErreurDonnees qui liste les
    codes connus."""
    territoires = lister_territoires(dossier)
    if code is None:
        return next(t for t in territoires if t.defaut)
    for territoire in territoires:
        if territoire.code == code:
            return territoire
    raise ErreurDonnees(f"Territoire « {code} » inconnu dans cette instance. Territoires : "
                        f"{', '.join(t.code for t in territoires)} (`desimper territoire lister`).", "instance",
                        "code")


def controler_code(code: str) -> str:
    """Code de territoire vérifié : minuscules ASCII, chiffres et tirets, 40 caractères au plus."""
    code = (code or "").strip()
    if not code or len(code) > LONGUEUR_MAX_CODE or not _MOTIF_CODE.match(code):
        raise ErreurDonnees(f"Code de territoire « {code} » invalide : lettres minuscules sans accent, chiffres et "
                            f"tirets seulement, {LONGUEUR_MAX_CODE} caractères au plus (ex. « etang-de-berre »).",
                            "instance", "code")
    return code


def proposer_code(nom: str) -> str:
    """Code tiré d'un nom : « Bassin de Thau (démonstration) » → « bassin-de-thau-demonstration »."""
    ascii_ = unicodedata.normalize("NFKD", nom).encode("ascii", "ignore").decode("ascii").lower()
    code = re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")[:LONGUEUR_MAX_CODE].strip("-")
    return code or CODE_UNIQUE


def _entree(territoire: TerritoireInstance, racine: Path) -> EntreeTerritoire:
    """Entrée du registre : dossier écrit relatif à l'instance quand il est dedans (instance déplaçable)."""
    try:
        dossier = territoire.dossier.relative_to(racine).as_posix() or "."
    except ValueError:
        dossier = territoire.dossier.as_posix()
    return EntreeTerritoire(code=territoire.code, nom=territoire.nom, dossier=dossier,
                            base_url=territoire.base_url)


def preparer_ajout(code: str, nom: str, dossier: str | Path, base_url: str | None = None,
                   code_existant: str | None = None, racine: Path | None = None
                   ) -> tuple[Instance, TerritoireInstance]:
    """Registre complété d'un nouveau territoire, vérifié mais **non écrit** (:func:`enregistrer_instance`
    l'écrit une fois le territoire créé) : code valide et libre, nom non vide, dossier et base pas déjà
    utilisés. Sans registre, le dossier de données existant devient le premier territoire (``code_existant``,
    sinon un code tiré de son nom)."""
    racine = Path(racine or dossier_instance()).resolve()
    code = controler_code(code)
    nom = (nom or "").strip()
    if not nom:
        raise ErreurDonnees("Nom du territoire vide : passez par exemple --nom \"Bassin de l'Étang de Berre\".",
                            "instance", "nom")
    existants = lister_territoires(racine)
    if lire_instance(racine) is None:  # migration : le dossier à territoire unique devient le premier territoire
        premier = existants[0]
        existants = [TerritoireInstance(controler_code(code_existant) if code_existant else
                                        proposer_code(premier.nom), premier.nom, premier.dossier,
                                        premier.base_url, True)]
        if not (premier.dossier / NOM_FICHIER_TERRITOIRE).is_file():
            existants = []  # instance neuve : pas de territoire existant à enregistrer
    chemin = Path(dossier).expanduser()
    nouveau = TerritoireInstance(code, nom, (chemin if chemin.is_absolute() else racine / chemin).resolve(),
                                 (base_url or "").strip() or None)
    for autre in existants:
        if autre.code == code:
            raise ErreurDonnees(f"Le code « {code} » est déjà pris par le territoire « {autre.nom} » : choisissez-en "
                                "un autre (`desimper territoire lister`).", "instance", "code")
        if autre.dossier == nouveau.dossier:
            raise ErreurDonnees(f"Le dossier {nouveau.dossier} est déjà celui du territoire « {autre.nom} » "
                                f"({autre.code}) : chaque territoire a son propre dossier.", "instance", "dossier")
        if nouveau.base_url and autre.base_url == nouveau.base_url:
            raise ErreurDonnees(f"La base {nouveau.base_affichee} est déjà celle du territoire « {autre.nom} » : "
                                "chaque territoire a sa base (ses comptes et ses opérations).", "instance",
                                "base_url")
    defaut = next((t.code for t in existants if t.defaut), code)
    entrees = [_entree(t, racine) for t in [*existants, nouveau]]
    return Instance(territoires=entrees, defaut=defaut), nouveau


def enregistrer_instance(instance: Instance, racine: Path | None = None) -> Path:
    """Écrit le registre d'un seul coup (fichier temporaire puis remplacement) : jamais à moitié écrit."""
    from donnees.referentiel import ecrire_fichier_atomiquement

    texte = json.dumps(instance.model_dump(exclude_none=True), ensure_ascii=False, indent=2) + "\n"
    return ecrire_fichier_atomiquement(chemin_instance(racine), texte)


def compter_territoire(territoire: TerritoireInstance) -> dict:
    """Communes (``territoire.json``) et opérations (base) d'un territoire, pour ``desimper territoire lister`` ;
    None pour ce qui manque (pas de ``territoire.json``, pas encore de base SQLite)."""
    from donnees.magasin import Magasin
    from donnees.referentiel import lire_territoire

    try:
        communes = len(lire_territoire(territoire.dossier)["codes_insee"])
    except ErreurDonnees:
        communes = None
    operations = None
    url = territoire.url
    if not url.startswith("sqlite") or (territoire.dossier / NOM_BASE_SQLITE).is_file():
        magasin = Magasin(url)
        try:
            operations = magasin.compter().get("operation", 0)
        finally:
            magasin.fermer()
    return {"communes": communes, "operations": operations}


__all__ = ["CODE_UNIQUE", "TerritoireInstance", "chemin_instance", "compter_territoire", "controler_code",
           "enregistrer_instance", "lire_instance", "lister_territoires", "preparer_ajout", "proposer_code",
           "trouver_territoire"]
