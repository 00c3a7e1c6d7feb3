"""Droits d'accès (CONCEPTION §6), vérifiés dans la couche de données et non seulement dans l'interface.

- :func:`peut` répond oui ou non ; :func:`exiger` lève :class:`ErreurDroits` avec un message en
  français qui dit pourquoi (ex. « Vous ne pouvez pas modifier une opération de Mèze (34157) : votre
  compte est rattaché à Sète (34301). »).
- :class:`MagasinProtege` enveloppe le magasin pour un utilisateur : chaque lecture est filtrée et
  chaque écriture vérifiée avant d'atteindre la base, et le journal porte l'adresse de l'utilisateur.
  L'application ne doit manipuler que cette enveloppe.

Règles (``administrateur`` : tout) :

- public (:data:`~donnees.comptes.VISITEUR`, ou compte désactivé) : opérations validées et non
  supprimées seulement, sans les colonnes de :data:`COLONNES_MASQUEES_PUBLIC` ni les financements ;
  le maître d'ouvrage d'un site privé (``type_site = prive``) est effacé ; ni journal ni écriture ;
- financeur : lit tout (non validées, coûts, financements, contacts, journal des opérations) sauf les
  opérations supprimées et le journal des comptes ; n'écrit rien ;
- référent commune : lit les opérations validées partout (vue publique hors de ses communes) et tout
  dans ses communes ; crée, modifie et supprime dans ses communes seulement ; ne peut ni déplacer une
  opération vers une autre commune, ni valider, ni demander une correction, ni restaurer ; modifier
  une opération validée (ou à corriger) la renvoie « à valider » ; supprimer une opération validée
  lui est refusé ;
- administrateur : tout, dont valider, demander une correction (commentaire obligatoire), restaurer
  une opération supprimée, lire les opérations supprimées, gérer les comptes.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from donnees import comptes, nomenclatures
from donnees.comptes import ROLE_VISITEUR, VISITEUR, Utilisateur
from donnees.magasin import CHAMPS_CREATION, CHAMPS_LECTURE_SEULE, ConflitVersion, Magasin
from donnees.schemas import CRS_CALCUL, CRS_STOCKAGE, ErreurDonnees

__all__ = [
    "ACTIONS",
    "COLONNES_MASQUEES_PUBLIC",
    "ErreurDroits",
    "MagasinProtege",
    "exiger",
    "filtrer_operations",
    "lire_noms_communes",
    "peut",
]

# Action → fin de phrase « Vous ne pouvez pas … ».
ACTIONS = {
    "lire": "consulter une opération",
    "lire_validees": "consulter une opération validée",
    "lire_non_validees": "consulter une opération non validée",
    "lire_details": "consulter les coûts, financements et contacts d'une opération",
    "lire_supprimees": "consulter une opération supprimée",
    "lire_journal": "consulter l'historique d'une opération",
    "creer": "créer une opération",
    "modifier": "modifier une opération",
    "supprimer": "supprimer une opération",
    "restaurer": "restaurer une opération",
    "valider": "valider une opération",
    "demander_correction": "demander la correction d'une opération",
    "gerer_comptes": "gérer les comptes",
    "gerer_parametres": "modifier les objectifs, paramètres et imports",
}
ACTIONS_ECRITURE = ("creer", "modifier", "supprimer", "restaurer", "valider", "demander_correction",
                    "gerer_comptes", "gerer_parametres")
ACTIONS_COMMUNE = ("lire_non_validees", "lire_details", "lire_journal", "creer", "modifier", "supprimer")
ACTIONS_ADMINISTRATEUR = ("lire_supprimees", "restaurer", "valider", "demander_correction", "gerer_comptes",
                          "gerer_parametres")

# Colonnes retirées pour le public (et vidées, pour un référent, sur les opérations des autres communes) :
# - contact, cree_par, modifie_par : données personnelles (nom, adresse, téléphone des agents) ;
# - cout_ht_eur, montant_aides_eur (et la liste ``financements`` d'une opération) : coûts et aides ;
# - commentaire_validation : échange interne entre le syndicat et la commune ;
# - parcelles : références cadastrales, qui désignent le propriétaire d'une parcelle privée.
COLONNES_MASQUEES_PUBLIC = ("contact", "cree_par", "modifie_par", "cout_ht_eur", "montant_aides_eur",
                            "commentaire_validation", "parcelles")
CLES_MASQUEES_PUBLIC = COLONNES_MASQUEES_PUBLIC + ("financements",)
TYPE_SITE_PRIVE = "prive"

_CSV_COMMUNES_DEMO = Path(__file__).resolve().parent / "demo" / "communes_bassin_thau.csv"


class ErreurDroits(ErreurDonnees):
    """Action refusée : le message dit pourquoi et à qui s'adresser."""

    def __init__(self, message: str, action: str | None = None):
        super().__init__(message, "droits", action)
        self.action = action


# ------------------------------------------------------------------------------------ communes


@lru_cache(maxsize=8)
def _noms_depuis(chemin: str, _date_modification: float) -> dict[str, str]:
    from donnees.referentiel import lire_couche

    table = lire_couche("communes", Path(chemin).parent, colonnes=["code_insee", "nom"], valider=False)
    return dict(zip(table["code_insee"].astype(str), table["nom"].astype(str)))


@lru_cache(maxsize=4)
def _contours_depuis(chemin: str, _date_modification: float) -> dict[str, BaseGeometry]:
    from donnees.referentiel import lire_couche

    table = lire_couche("communes", Path(chemin).parent, colonnes=["code_insee", "geometry"], valider=False)
    table = table.to_crs(CRS_CALCUL)
    return dict(zip(table["code_insee"].astype(str), shapely.make_valid(table.geometry.to_numpy())))


def lire_contours_communes(dossier: Path | None = None) -> dict[str, BaseGeometry]:
    """Code INSEE → contour de la commune en Lambert-93 ; ``{}`` si la couche manque."""
    from donnees.referentiel import chemin_couche

    chemin = chemin_couche("communes", dossier)
    try:
        return _contours_depuis(str(chemin), chemin.stat().st_mtime)
    except Exception:  # noqa: BLE001 - couche absente ou illisible : contrôle impossible, le magasin vérifie le reste
        return {}


def _geometrie_l93(valeur: Any) -> BaseGeometry | None:
    """Géométrie d'une zone (objet shapely, GeoJSON ou WKT, en WGS84) projetée en Lambert-93, ou None."""
    from pyproj import Transformer
    from shapely.geometry import shape

    try:
        if isinstance(valeur, Mapping):
            valeur = shape(valeur)
        elif isinstance(valeur, str):
            valeur = shapely.from_wkt(valeur)
    except Exception:  # noqa: BLE001 - géométrie illisible : le magasin la refusera avec son message
        return None
    if not isinstance(valeur, BaseGeometry) or valeur.is_empty:
        return None
    transformateur = Transformer.from_crs(CRS_STOCKAGE, CRS_CALCUL, always_xy=True)
    return shapely.transform(valeur, lambda xy: np.column_stack(transformateur.transform(xy[:, 0], xy[:, 1])))


def verifier_zones_dans_commune(code_insee: str, zones: Any, contours: Mapping[str, BaseGeometry],
                                noms: Mapping[str, str] | None = None) -> None:
    """Lève :class:`ErreurDroits` si une zone est en majorité hors de la commune de l'opération.

    Seuil : plus de ``PART_MAX_HORS_COMMUNE`` (50 %) de la surface hors du contour, comme à l'import et au
    formulaire ; un référent ne peut pas saisir chez le voisin en déclarant sa propre commune.
    """
    from donnees.import_operations import PART_MAX_HORS_COMMUNE

    contour = contours.get(str(code_insee))
    if contour is None or not isinstance(zones, (list, tuple)):
        return
    for rang, zone in enumerate(zones, start=1):
        geometrie = _geometrie_l93(zone.get("geometrie") if isinstance(zone, Mapping) else None)
        if geometrie is None or geometrie.area <= 0:
            continue
        hors = 1 - geometrie.intersection(contour).area / geometrie.area
        if hors > PART_MAX_HORS_COMMUNE:
            raise ErreurDroits(f"Zone {rang} : {hors * 100:.0f}\u00a0% de sa surface est hors de la commune "
                               f"{_nommer(str(code_insee), noms)}. Un référent ne saisit que dans ses communes : "
                               "redessinez la zone, ou demandez au syndicat de bassin.", "creer")


@lru_cache(maxsize=1)
def _noms_demo() -> dict[str, str]:
    table = pd.read_csv(_CSV_COMMUNES_DEMO, dtype={"code_insee": str}, usecols=["code_insee", "nom"])
    return dict(zip(table["code_insee"], table["nom"]))


def lire_noms_communes(dossier: Path | None = None) -> dict[str, str]:
    """Code INSEE → nom : couche « communes » du dossier de données, sinon la liste de démonstration."""
    from donnees.referentiel import chemin_couche

    chemin = chemin_couche("communes", dossier)
    try:
        return _noms_depuis(str(chemin), chemin.stat().st_mtime)
    except Exception:  # noqa: BLE001 - couche absente ou illisible : repli sur la liste de démonstration
        try:
            return _noms_demo()
        except Exception:  # noqa: BLE001
            return {}


def _premier(valeurs: list | None):
    """Valeur journalisée : la surface seule si c'est la seule colonne, sinon la liste des valeurs."""
    if valeurs is None:
        return None
    return valeurs[0] if len(valeurs) == 1 else valeurs


def _nommer(code: str, noms: Mapping[str, str] | None) -> str:
    nom = (noms or {}).get(code)
    return f"{nom} ({code})" if nom else code


def _enumerer(elements: list[str]) -> str:
    if not elements:
        return "aucune commune"
    return elements[0] if len(elements) == 1 else ", ".join(elements[:-1]) + " et " + elements[-1]


def _code(valeur: Any) -> str | None:
    if isinstance(valeur, str) and valeur.strip():
        return valeur.strip()
    return None


# ------------------------------------------------------------------------------------ règles


def _role(utilisateur: Utilisateur) -> str:
    if not isinstance(utilisateur, Utilisateur) or utilisateur.est_visiteur:
        return ROLE_VISITEUR
    return utilisateur.role if utilisateur.role in nomenclatures.ROLES else ROLE_VISITEUR


def _motif_refus(utilisateur: Utilisateur, action: str, code_insee: str | None, operation: Mapping | None,
                 noms: Mapping[str, str] | None) -> str | None:
    """Message de refus, ou ``None`` si l'action est permise."""
    if action not in ACTIONS:
        raise ErreurDonnees(f"Action « {action} » inconnue. Actions : {', '.join(ACTIONS)}.", "droits", "action")
    operation = {} if operation is None else operation  # dict, ou ligne de DataFrame
    code_operation = _code(operation.get("code_insee"))
    code_insee = _code(code_insee)
    if action == "lire":
        if operation.get("supprimee"):
            action = "lire_supprimees"
        elif operation.get("validation") == "validee":
            action = "lire_validees"
        else:
            action = "lire_non_validees"
    role = _role(utilisateur)
    if role == "administrateur" or action == "lire_validees":
        return None
    phrase = ACTIONS[action]

    if role == ROLE_VISITEUR:
        if action in ACTIONS_ECRITURE:
            return (f"Connectez-vous pour {phrase} : sans compte, le tableau de bord est en lecture seule.")
        return (f"Vous ne pouvez pas {phrase} sans être connecté : le public ne voit que les opérations "
                "validées, sans coûts ni contacts.")
    libelle = nomenclatures.ROLES[role]
    if action in ACTIONS_ADMINISTRATEUR:
        return (f"Votre rôle ({libelle}) ne permet pas de {phrase} : c'est réservé aux administrateurs du "
                "syndicat de bassin.")
    if role == "financeur":
        if action in ACTIONS_ECRITURE:
            return (f"Votre rôle ({libelle}) ne permet pas de {phrase} : il donne accès à toutes les données, "
                    "en lecture seule.")
        return None

    # Référent commune.
    communes = sorted(utilisateur.communes)
    rattachement = _enumerer([_nommer(c, noms) for c in communes])
    if code_operation is not None and code_operation not in utilisateur.communes:
        return (f"Vous ne pouvez pas {phrase} de {_nommer(code_operation, noms)} : votre compte est rattaché "
                f"à {rattachement}.")
    if code_insee is not None and code_insee not in utilisateur.communes:
        if action == "modifier" and code_operation is not None and code_insee != code_operation:
            return (f"Vous ne pouvez pas déplacer une opération vers {_nommer(code_insee, noms)} : votre "
                    f"compte est rattaché à {rattachement}.")
        return (f"Vous ne pouvez pas {phrase} de {_nommer(code_insee, noms)} : votre compte est rattaché "
                f"à {rattachement}.")
    if action == "supprimer" and operation.get("validation") == "validee":
        numero = f" n° {operation['id']}" if operation.get("id") is not None else ""
        return (f"Vous ne pouvez pas supprimer l'opération{numero} : elle est validée. Demandez sa suppression "
                "au syndicat de bassin, ou modifiez-la (elle repassera « à valider »).")
    return None


def peut(utilisateur: Utilisateur, action: str, code_insee: str | None = None,
         operation: Mapping | None = None, noms_communes: Mapping[str, str] | None = None) -> bool:
    """Vrai si l'utilisateur peut faire ``action`` (dans la commune ``code_insee``, sur ``operation``).

    ``operation`` : dictionnaire lu dans le magasin (``code_insee``, ``validation``, ``supprimee``) ;
    ``code_insee`` : commune visée (création, ou nouvelle commune d'une modification). Sans commune ni
    opération, la réponse porte sur le rôle (« peut-il créer quelque part ? »).
    """
    return _motif_refus(utilisateur, action, code_insee, operation, noms_communes) is None


def exiger(utilisateur: Utilisateur, action: str, code_insee: str | None = None,
           operation: Mapping | None = None, noms_communes: Mapping[str, str] | None = None) -> None:
    """Lève :class:`ErreurDroits` si l'utilisateur ne peut pas faire ``action``."""
    motif = _motif_refus(utilisateur, action, code_insee, operation,
                         lire_noms_communes() if noms_communes is None else noms_communes)
    if motif is not None:
        raise ErreurDroits(motif, action)


# ------------------------------------------------------------------------------------ filtres


def _lignes_detaillees(utilisateur: Utilisateur, codes: pd.Series) -> np.ndarray:
    """Lignes dont l'utilisateur voit tout (coûts, contacts, non validées)."""
    role = _role(utilisateur)
    if role in ("administrateur", "financeur"):
        return np.ones(len(codes), dtype=bool)
    if role == "referent":
        return codes.astype(str).isin(list(utilisateur.communes)).to_numpy()
    return np.zeros(len(codes), dtype=bool)


def _effacer_maitre_ouvrage_prive(table: pd.DataFrame, lignes: np.ndarray) -> None:
    if "maitre_ouvrage" in table.columns and "type_site" in table.columns:
        prive = lignes & table["type_site"].eq(TYPE_SITE_PRIVE).to_numpy()
        if prive.any():
            table["maitre_ouvrage"] = table["maitre_ouvrage"].astype(object)
            table.loc[prive, "maitre_ouvrage"] = None


def filtrer_operations(utilisateur: Utilisateur, table: pd.DataFrame) -> pd.DataFrame:
    """Filtre une table d'opérations (ou de zones) selon les droits de lecture de l'utilisateur.

    Public : opérations validées seulement, colonnes de :data:`COLONNES_MASQUEES_PUBLIC` retirées.
    Référent : validées partout et tout dans ses communes ; hors de ses communes, ces colonnes sont
    vidées. Financeur et administrateur : tout (les supprimées ne sont lues que par l'administrateur).
    """
    role = _role(utilisateur)
    table = table.copy()
    if "supprimee" in table.columns and role != "administrateur":
        table = table[~table["supprimee"].astype(bool)]
    if role in ("administrateur", "financeur"):
        return table
    detaillees = _lignes_detaillees(utilisateur, table["code_insee"])
    visibles = detaillees | table["validation"].eq("validee").to_numpy()
    table = table[visibles]
    detaillees = detaillees[visibles]
    if role == ROLE_VISITEUR:
        table = table.drop(columns=[c for c in COLONNES_MASQUEES_PUBLIC if c in table.columns])
        _effacer_maitre_ouvrage_prive(table, np.ones(len(table), dtype=bool))
        return table
    publiques = ~detaillees
    if publiques.any():
        for colonne in COLONNES_MASQUEES_PUBLIC:
            if colonne not in table.columns:
                continue
            if pd.api.types.is_float_dtype(table[colonne]):
                table.loc[publiques, colonne] = np.nan
            else:
                table[colonne] = table[colonne].astype(object)
                table.loc[publiques, colonne] = None
        _effacer_maitre_ouvrage_prive(table, publiques)
    return table


def _vue_publique(operation: dict) -> dict:
    """Opération sans coûts, financements, contacts ni données personnelles."""
    vue = {cle: valeur for cle, valeur in operation.items() if cle not in CLES_MASQUEES_PUBLIC}
    if vue.get("type_site") == TYPE_SITE_PRIVE:
        vue["maitre_ouvrage"] = None
    return vue


# ------------------------------------------------------------------- changement réel d'une opération


def _normaliser(valeur: Any) -> Any:
    if valeur is None or valeur is pd.NA or valeur is pd.NaT:
        return None
    if isinstance(valeur, np.generic):
        valeur = valeur.item()
    if isinstance(valeur, float) and math.isnan(valeur):
        return None
    if isinstance(valeur, str):
        return valeur.strip() or None
    if isinstance(valeur, bool):
        return valeur
    if isinstance(valeur, (int, float, Decimal)):
        return float(valeur)
    if isinstance(valeur, pd.Timestamp):
        valeur = valeur.to_pydatetime()
    if isinstance(valeur, datetime):
        return valeur.date().isoformat()
    if isinstance(valeur, date):
        return valeur.isoformat()
    if isinstance(valeur, (list, tuple, np.ndarray, pd.Series)):
        return tuple(_normaliser(v) for v in list(valeur))
    return valeur


def _meme_geometrie(a: Any, b: Any) -> bool:
    if not isinstance(a, BaseGeometry) or not isinstance(b, BaseGeometry):
        return False
    try:
        return shapely.to_wkb(a) == shapely.to_wkb(b)
    except Exception:  # noqa: BLE001 - géométrie douteuse : on la tient pour changée
        return False


def _meme_liste(nouvelle: Any, actuelle: list[dict], cles: tuple[str, ...]) -> bool:
    if not isinstance(nouvelle, (list, tuple)) or len(nouvelle) != len(actuelle):
        return False
    for element, existant in zip(nouvelle, actuelle):
        if not isinstance(element, Mapping):
            return False
        for cle in cles:
            if cle == "geometrie":
                if not _meme_geometrie(element.get(cle), existant.get(cle)):
                    return False
            elif _normaliser(element.get(cle)) != _normaliser(existant.get(cle)):
                return False
    return True


def _modifications_reelles(actuelle: Mapping, modifications: Mapping) -> bool:
    """Vrai si ``modifications`` change l'opération (en cas de doute : vrai, ce qui est prudent)."""
    for champ, valeur in modifications.items():
        if champ in CHAMPS_LECTURE_SEULE or champ in CHAMPS_CREATION or champ in (
                "validation", "commentaire_validation"):
            continue
        if champ == "zones":
            identique = _meme_liste(valeur, actuelle["zones"], ("geometrie", "revetement_avant", "revetement_apres"))
        elif champ == "financements":
            identique = _meme_liste(valeur, actuelle["financements"], ("financeur", "montant_eur"))
        elif champ == "photos":
            identique = _meme_liste(valeur, actuelle["photos"], ("moment", "chemin", "legende"))
        elif champ == "parcelles":
            identique = (isinstance(valeur, (list, tuple, np.ndarray))
                         and [str(p).strip().upper() for p in valeur] == list(actuelle["parcelles"]))
        elif champ in actuelle:
            identique = _normaliser(valeur) == _normaliser(actuelle[champ])
        else:
            identique = False
        if not identique:
            return True
    return False


# ------------------------------------------------------------------------------------ façade


class MagasinProtege:
    """Magasin vu par un utilisateur : lectures filtrées, écritures vérifiées et journalisées à son nom.

    Le compte est relu dans la base à chaque appel : un compte désactivé ou dont le rôle a changé
    perd ses droits aussitôt, même si sa session est encore ouverte.
    """

    def __init__(self, magasin: Magasin, utilisateur: Utilisateur = VISITEUR,
                 noms_communes: Mapping[str, str] | None = None):
        self._magasin = magasin
        self._utilisateur = utilisateur if isinstance(utilisateur, Utilisateur) else VISITEUR
        self._noms = noms_communes
        self._contours: Mapping[str, BaseGeometry] | None = None

    def __repr__(self) -> str:
        return f"MagasinProtege({self._magasin!r}, {self._utilisateur.email or 'visiteur'!r})"

    # ---------------------------------------------------------------- outils

    @property
    def contours_communes(self) -> Mapping[str, BaseGeometry]:
        """Contours des communes (Lambert-93) du dossier de données dont ce magasin est la base ; vide si le
        magasin n'est pas celui du dossier de données courant (contrôle géographique alors laissé à l'import)."""
        if self._contours is None:
            from donnees.config import dossier_donnees, url_base

            dossier = dossier_donnees()
            self._contours = lire_contours_communes(dossier) if self._magasin.url == url_base(dossier) else {}
        return self._contours

    @property
    def noms_communes(self) -> Mapping[str, str]:
        """Code INSEE → nom, pour les messages."""
        if self._noms is None:
            self._noms = lire_noms_communes()
        return self._noms

    @property
    def utilisateur(self) -> Utilisateur:
        """Utilisateur à jour (relu dans la base) ; le visiteur si le compte n'existe plus ou est désactivé."""
        if self._utilisateur.est_visiteur or not self._utilisateur.email:
            return VISITEUR
        compte = self._magasin.lire_utilisateur(self._utilisateur.email)
        if compte is None or not compte["actif"]:
            return VISITEUR
        return Utilisateur.depuis_compte(compte)

    def peut(self, action: str, code_insee: str | None = None, operation: Mapping | None = None) -> bool:
        """Même question que :func:`peut`, pour l'utilisateur de cette façade."""
        return peut(self.utilisateur, action, code_insee, operation, self.noms_communes)

    def _exiger(self, utilisateur: Utilisateur, action: str, code_insee: str | None = None,
                operation: Mapping | None = None) -> None:
        exiger(utilisateur, action, code_insee, operation, self.noms_communes)

    @staticmethod
    def _verifier_version(actuelle: dict, version_attendue: Any) -> None:
        """Lève :class:`ConflitVersion` si l'opération lue n'est pas à la version attendue.

        Les droits sont vérifiés sur l'état lu ; le magasin n'écrit ensuite que si la version n'a pas
        bougé : l'état vérifié est donc bien celui qui est modifié.
        """
        if isinstance(version_attendue, numbers.Integral) and not isinstance(version_attendue, (bool, np.bool_)) \
                and actuelle["version"] != int(version_attendue):
            raise ConflitVersion(actuelle["id"], actuelle["version"], int(version_attendue))

    # ---------------------------------------------------------------- écritures

    def creer_operation(self, operation: Mapping) -> int:
        """Crée une opération (référent : dans ses communes, « à valider ») ; renvoie son identifiant."""
        u = self.utilisateur
        self._exiger(u, "creer")
        code = operation.get("code_insee") if isinstance(operation, Mapping) else None
        self._exiger(u, "creer", code_insee=code)
        if not u.est_administrateur and isinstance(operation, Mapping):
            validation = _normaliser(operation.get("validation"))
            if validation not in (None, "a_valider"):
                raise ErreurDroits("Seul un administrateur du syndicat de bassin peut valider une opération ou "
                                   "demander sa correction : laissez la validation « À valider ».", "valider")
            if _normaliser(operation.get("commentaire_validation")) is not None:
                raise ErreurDroits("Le commentaire de validation est rempli par l'administrateur du syndicat "
                                   "de bassin : laissez-le vide.", "valider")
            if _normaliser(operation.get("cree_le")) is not None or \
                    _normaliser(operation.get("cree_par")) not in (None, u.email):
                raise ErreurDroits("Les champs « date de création » et « auteur de la création » sont remplis "
                                   "par l'application : laissez-les vides.", "creer")
            verifier_zones_dans_commune(code, operation.get("zones"), self.contours_communes, self.noms_communes)
        return self._magasin.creer_operation(operation, auteur=u.email)

    def modifier_operation(self, operation_id: int, version_attendue: int, modifications: Mapping) -> int:
        """Modifie une opération ; celle d'un référent repasse « à valider » si elle était validée ou à corriger."""
        u = self.utilisateur
        self._exiger(u, "modifier")
        actuelle = self._magasin.lire_operation(operation_id)
        nouveau_code = modifications.get("code_insee") if isinstance(modifications, Mapping) else None
        self._exiger(u, "modifier", code_insee=nouveau_code, operation=actuelle)
        self._verifier_version(actuelle, version_attendue)
        if not u.est_administrateur and isinstance(modifications, Mapping):
            reelles = _modifications_reelles(actuelle, modifications)
            demandee = _normaliser(modifications.get("validation"))
            if "validation" in modifications and demandee != actuelle["validation"] \
                    and not (demandee == "a_valider" and reelles):
                raise ErreurDroits("Seul un administrateur du syndicat de bassin peut valider une opération ou "
                                   "demander sa correction ; une opération modifiée repasse d'elle-même "
                                   "« À valider ».", "valider")
            if "commentaire_validation" in modifications and _normaliser(modifications["commentaire_validation"]) \
                    != _normaliser(actuelle["commentaire_validation"]):
                raise ErreurDroits("Le commentaire de validation est rempli par l'administrateur du syndicat "
                                   "de bassin : vous ne pouvez pas le modifier.", "valider")
            if actuelle["validation"] != "a_valider" and reelles:
                modifications = {**modifications, "validation": "a_valider"}
            if "zones" in modifications:
                verifier_zones_dans_commune(nouveau_code or actuelle["code_insee"], modifications["zones"],
                                            self.contours_communes, self.noms_communes)
        return self._magasin.modifier_operation(operation_id, version_attendue, modifications, u.email)

    def supprimer_operation(self, operation_id: int, version_attendue: int) -> int:
        """Suppression logique (référent : dans ses communes, tant qu'elle n'est pas validée)."""
        u = self.utilisateur
        self._exiger(u, "supprimer")
        actuelle = self._magasin.lire_operation(operation_id)
        self._exiger(u, "supprimer", operation=actuelle)
        self._verifier_version(actuelle, version_attendue)
        return self._magasin.supprimer_operation(operation_id, version_attendue, u.email)

    def restaurer_operation(self, operation_id: int) -> int:
        """Restaure une opération supprimée (administrateur)."""
        u = self.utilisateur
        self._exiger(u, "restaurer")
        return self._magasin.restaurer_operation(operation_id, u.email)

    def valider_operation(self, operation_id: int, version_attendue: int, decision: str,
                          commentaire: str | None = None) -> int:
        """Valide (``validee``) ou renvoie à corriger (``a_corriger``, commentaire obligatoire) ; administrateur."""
        if decision not in ("validee", "a_corriger"):
            raise ErreurDonnees(f"Décision « {decision} » inconnue : « validee » (valider) ou « a_corriger » "
                                "(demander une correction).", "operation", "validation")
        u = self.utilisateur
        self._exiger(u, "valider" if decision == "validee" else "demander_correction")
        if isinstance(commentaire, str):
            commentaire = commentaire.strip() or None
        if decision == "a_corriger" and not commentaire:
            raise ErreurDonnees("Pour demander une correction, expliquez dans le commentaire ce qu'il faut "
                                "corriger.", "operation", "commentaire_validation")
        return self._magasin.modifier_operation(
            operation_id, version_attendue, {"validation": decision, "commentaire_validation": commentaire}, u.email)

    # ---------------------------------------------------------------- lectures

    def lire_operation(self, operation_id: int) -> dict:
        """Une opération, si l'utilisateur peut la lire ; vue publique s'il n'en voit pas les détails."""
        u = self.utilisateur
        operation = self._magasin.lire_operation(operation_id)
        self._exiger(u, "lire", operation=operation)
        if peut(u, "lire_details", operation=operation):
            return operation
        return _vue_publique(operation)

    def lire_operations(self, inclure_supprimees: bool = False):
        """Opérations lisibles (GeoDataFrame du magasin, filtré ; voir :func:`filtrer_operations`)."""
        u = self.utilisateur
        if inclure_supprimees:
            self._exiger(u, "lire_supprimees")
        return filtrer_operations(u, self._magasin.lire_operations(inclure_supprimees=inclure_supprimees))

    def lire_zones(self, inclure_supprimees: bool = False):
        """Zones des opérations lisibles (aucune colonne personnelle dans cette table)."""
        u = self.utilisateur
        if inclure_supprimees:
            self._exiger(u, "lire_supprimees")
        zones = self._magasin.lire_zones(inclure_supprimees=inclure_supprimees)
        if _role(u) in ("administrateur", "financeur"):
            return zones
        visibles = _lignes_detaillees(u, zones["code_insee"]) | zones["validation"].eq("validee").to_numpy()
        return zones[visibles]

    def _operations_detaillees(self, u: Utilisateur) -> set[int]:
        """Identifiants des opérations (non supprimées) dont l'utilisateur voit tous les détails."""
        table = self._magasin.lire_operations()
        return {int(i) for i in table.loc[_lignes_detaillees(u, table["code_insee"]), "id"]}

    def lire_financements(self) -> pd.DataFrame:
        """Financements des opérations dont l'utilisateur voit les coûts."""
        u = self.utilisateur
        self._exiger(u, "lire_details")
        financements = self._magasin.lire_financements()
        if _role(u) in ("administrateur", "financeur"):
            return financements
        return financements[_lignes_detaillees(u, financements["code_insee"])]

    def lire_photos(self, operation_id: int | None = None) -> pd.DataFrame:
        """Photos des opérations lisibles."""
        u = self.utilisateur
        if operation_id is not None:
            self.lire_operation(operation_id)  # lève ErreurDroits si l'opération n'est pas lisible
            return self._magasin.lire_photos(operation_id)
        photos = self._magasin.lire_photos()
        if _role(u) in ("administrateur", "financeur"):
            return photos
        lisibles = filtrer_operations(u, self._magasin.lire_operations())["id"]
        return photos[photos["operation_id"].isin(set(int(i) for i in lisibles))]

    def lire_journal(self, operation_id: int | None = None) -> pd.DataFrame:
        """Journal : opérations lisibles en détail ; comptes pour l'administrateur seulement."""
        u = self.utilisateur
        self._exiger(u, "lire_journal")
        if operation_id is not None:
            operation = self._magasin.lire_operation(operation_id)
            if operation["supprimee"]:
                self._exiger(u, "lire_supprimees", operation=operation)
            self._exiger(u, "lire_journal", operation=operation)
            return self._magasin.lire_journal(operation_id)
        journal = self._magasin.lire_journal()
        if u.est_administrateur:
            return journal
        permises = self._operations_detaillees(u)
        garder = journal["table_cible"].eq("operation") & journal["enregistrement_id"].isin(permises)
        return journal[garder.to_numpy()]

    # ---------------------------------------------------------------- objectifs (administrateur)

    def ecrire_objectifs(self, objectifs: pd.DataFrame, dossier: Path | None = None) -> dict:
        """Remplace les objectifs de désimperméabilisation (administrateur).

        Table : ``territoire`` (``bassin`` ou code INSEE), ``annee``, ``surface_m2`` (m² cumulés visés). Validée
        puis écrite d'un coup (rien n'est écrit si elle est refusée) ; le changement est journalisé. Renvoie le
        diff ``{"territoire annee": [avant, après]}``.
        """
        return self._remplacer_couche_administree("objectifs", objectifs, "territoire", ["surface_m2"], dossier,
                                                  bassin_admis=True)

    def ecrire_nouvelles_surfaces(self, surfaces: pd.DataFrame, dossier: Path | None = None) -> dict:
        """Remplace les surfaces nouvellement imperméabilisées (administrateur), pour le ratio SDAGE.

        Table : ``code_insee``, ``annee``, ``surface_m2`` (m² imperméabilisés dans l'année), ``source``
        (déclaration de la commune, mesure entre deux millésimes OCS GE…). Mêmes garanties que les objectifs.
        """
        return self._remplacer_couche_administree("nouvelles_surfaces", surfaces, "code_insee",
                                                  ["surface_m2", "source"], dossier)

    def _remplacer_couche_administree(self, nom: str, table: pd.DataFrame, colonne_territoire: str,
                                      valeurs: list[str], dossier: Path | None, bassin_admis: bool = False) -> dict:
        from donnees.referentiel import chemin_couche, ecrire_couche, lire_couche
        from donnees.schemas import SCHEMAS

        u = self.utilisateur
        self._exiger(u, "gerer_parametres")
        colonnes = [colonne_territoire, "annee", *valeurs]
        libelle = SCHEMAS[nom].libelle
        manquantes = [c for c in colonnes if c not in table.columns]
        if manquantes:
            raise ErreurDonnees(f"{libelle.capitalize()} : colonne(s) manquante(s) {', '.join(manquantes)}.", nom)
        avant = lire_couche(nom, dossier) if chemin_couche(nom, dossier).exists() else pd.DataFrame(columns=colonnes)
        nouveaux = table[colonnes].copy()
        nouveaux[colonne_territoire] = nouveaux[colonne_territoire].astype(str).str.strip()
        codes = set(lire_noms_communes(dossier)) | ({"bassin"} if bassin_admis else set())
        inconnus = sorted(set(nouveaux[colonne_territoire]) - codes) if len(codes) > bassin_admis else []
        if inconnus:
            raise ErreurDonnees(f"{libelle.capitalize()} : territoire(s) inconnu(s) {', '.join(inconnus)}. Écrivez "
                                + ("« bassin » ou " if bassin_admis else "")
                                + "le code INSEE d'une commune du territoire.", nom, colonne_territoire)

        def cles(lignes: pd.DataFrame) -> dict:
            return {f"{t} {int(a)}": [lignes[v].iloc[i] if v != "surface_m2" else float(lignes[v].iloc[i])
                                      for v in valeurs]
                    for i, (t, a) in enumerate(zip(lignes[colonne_territoire], lignes["annee"]))}

        ecrire_couche(nom, nouveaux, dossier)
        anciens, recents = cles(avant.reset_index(drop=True)), cles(nouveaux.reset_index(drop=True))
        diff = {cle: [_premier(anciens.get(cle)), _premier(recents.get(cle))]
                for cle in sorted(set(anciens) | set(recents)) if anciens.get(cle) != recents.get(cle)}
        if diff:
            self._magasin.journaliser(u.email, "modification", nom, diff)
        return diff

    def ecrire_parametres(self, surcharges: Mapping[str, float], sources: Mapping[str, str],
                          valider: Any, dossier: Path | None = None) -> dict:
        """Remplace les valeurs des paramètres de modèle propres au territoire (administrateur).

        ``surcharges`` : code → valeur (les autres paramètres gardent leur valeur par défaut) ; ``sources`` :
        code → source de la valeur, obligatoire pour chaque surcharge ; ``valider`` : fonction qui lève
        :class:`ErreurDonnees` pour un code inconnu ou une valeur hors bornes (celle des indicateurs). Le
        fichier du territoire est réécrit d'un coup et le changement journalisé. Renvoie le diff.
        """
        from donnees.referentiel import ecrire_territoire, lire_territoire

        u = self.utilisateur
        self._exiger(u, "gerer_parametres")
        surcharges = {str(c): float(v) for c, v in surcharges.items()}
        sources = {c: str(sources.get(c) or "").strip() for c in surcharges}
        territoire = lire_territoire(dossier)
        anciennes = {c: float(v) for c, v in (territoire.get("parametres") or {}).items()}
        anciennes_sources = territoire.get("sources_parametres") or {}
        # Une valeur nouvelle ou changée doit citer sa source (une valeur inchangée garde la sienne).
        sans_source = sorted(c for c, texte in sources.items() if not texte and anciennes.get(c) != surcharges[c])
        if sans_source:
            raise ErreurDonnees(f"Paramètres : source manquante pour {', '.join(sans_source)}. Dites d'où vient "
                                "chaque valeur propre au territoire (étude, station Météo-France, arrêté…).",
                                "territoire", "source")
        valider(surcharges)
        diff = {c: [anciennes.get(c), surcharges.get(c)] for c in sorted(set(anciennes) | set(surcharges))
                if anciennes.get(c) != surcharges.get(c)}
        diff.update({f"source {c}": [anciennes_sources.get(c), sources[c]] for c in sorted(sources)
                     if (anciennes_sources.get(c) or "") != sources[c]})
        sources = {c: texte for c, texte in sources.items() if texte}
        if diff:
            ecrire_territoire({**territoire, "parametres": surcharges, "sources_parametres": sources}, dossier)
            self._magasin.journaliser(u.email, "modification", "parametres", diff)
        return diff

    # ---------------------------------------------------------------- comptes (administrateur)

    def lire_utilisateurs(self) -> pd.DataFrame:
        """Comptes (sans empreintes)."""
        self._exiger(self.utilisateur, "gerer_comptes")
        return comptes.lister_comptes(self._magasin)

    def creer_compte(self, email: str, nom: str, role: str, communes: Iterable[str] | str | None,
                     mot_de_passe: str | None) -> Utilisateur:
        """Crée un compte (administrateur)."""
        u = self.utilisateur
        self._exiger(u, "gerer_comptes")
        return comptes.creer_compte(self._magasin, email, nom, role, communes, mot_de_passe, auteur=u.email)

    def modifier_compte(self, email: str, **modifications: Any) -> Utilisateur:
        """Modifie un compte : ``nom``, ``role``, ``communes``, ``actif`` (administrateur)."""
        u = self.utilisateur
        self._exiger(u, "gerer_comptes")
        return comptes.modifier_compte(self._magasin, email, u.email, **modifications)

    def desactiver_compte(self, email: str) -> Utilisateur:
        """Désactive un compte (administrateur)."""
        u = self.utilisateur
        self._exiger(u, "gerer_comptes")
        return comptes.desactiver_compte(self._magasin, email, u.email)

    def reinitialiser_mot_de_passe(self, email: str, mot_de_passe: str | None = None) -> str:
        """Pose un mot de passe (généré si absent) et lève le blocage ; renvoie le mot de passe (administrateur)."""
        u = self.utilisateur
        self._exiger(u, "gerer_comptes")
        return comptes.reinitialiser_mot_de_passe(self._magasin, email, u.email, mot_de_passe)
