"""Agenda de la communauté (issue 16, partie 3), pour les deux faces : agenda du territoire avec les événements
partagés par les autres territoires de l'instance, ``.ics`` d'un événement, flux abonnable
(``desimper agenda exporter``), point d'une commune, saisie à l'heure de Paris.

Partage : chaque territoire a sa base ; un événement ``partage_territoires`` y est lu (vue publique, lecture seule)
dans les bases des autres territoires de l'instance (:func:`donnees.instance.lister_territoires`) et marqué de son
territoire d'origine. Une base d'un autre territoire illisible (non migrée, injoignable) donne un avertissement,
jamais une panne de l'agenda.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from donnees.agenda import lire_genres_evenement, lire_parametres_agenda, paris_vers_utc
from donnees.comptes import VISITEUR
from donnees.config import dossier_donnees, url_base
from donnees.droits.agenda import COLONNES_PUBLIQUES_AGENDA
from donnees.erreurs import ErreurDonnees, sur_panne
from donnees.instance import lister_territoires
from donnees.magasin.agenda import lien_evenement
from vues.icalendar import construire_calendrier

VARIABLE_URL_APPLICATION = "DESIMPER_URL_APPLICATION"
VARIABLE_URL_FLUX = "DESIMPER_URL_AGENDA"  # adresse publique du flux abonnable (lien de la page Agenda)
NOM_FLUX = "agenda.ics"


@dataclass
class Agenda:
    """Événements de l'agenda (du territoire, puis partagés par les autres) et avertissements."""

    evenements: pd.DataFrame
    avertissements: list[str] = field(default_factory=list)


def maintenant_utc() -> datetime:
    """Heure courante UTC sans fuseau (comme le magasin)."""
    return datetime.now(UTC).replace(tzinfo=None)


def lire_url_application(environnement: dict | None = None) -> str | None:
    """Adresse publique de l'application (liens des fiches dans les ``.ics``), ou None."""
    valeur = str((os.environ if environnement is None else environnement).get(VARIABLE_URL_APPLICATION, "")).strip()
    return valeur.rstrip("/") or None


def lire_url_flux(environnement: dict | None = None) -> str | None:
    """Adresse publique du flux abonnable (``$DESIMPER_URL_AGENDA``), sinon ``<application>/agenda.ics``
    si l'adresse de l'application est connue, sinon None."""
    env = os.environ if environnement is None else environnement
    valeur = str(env.get(VARIABLE_URL_FLUX, "")).strip()
    if valeur:
        return valeur
    application = lire_url_application(env)
    return f"{application}/{NOM_FLUX}" if application else None


def _territoires_autres(dossier: Path):
    courant = Path(dossier).resolve()
    try:
        return [t for t in lister_territoires() if t.dossier.resolve() != courant]
    except ErreurDonnees:
        return []


def lire_evenements_partages(dossier: Path | None = None, depuis: datetime | None = None,
                             jusqua: datetime | None = None) -> Agenda:
    """Événements partagés par les autres territoires de l'instance (vue publique), colonnes ``territoire`` et
    ``territoire_code``."""
    from donnees.magasin import Magasin

    tables, avertissements = [], []
    for territoire in _territoires_autres(dossier or dossier_donnees()):
        try:
            magasin = Magasin(territoire.url)
        except ErreurDonnees as erreur:
            avertissements.append(f"Agenda du territoire {territoire.nom} illisible : {erreur}")
            continue
        try:
            table = magasin.lire_evenements(depuis, jusqua, partages_seulement=True)[COLONNES_PUBLIQUES_AGENDA]
            tables.append(table.assign(territoire=territoire.nom, territoire_code=territoire.code))
        except (ErreurDonnees, SQLAlchemyError) as erreur:
            avertissements.append(f"Agenda du territoire {territoire.nom} illisible (base à mettre à niveau ou "
                                  f"injoignable : {erreur.__class__.__name__}).")
        finally:
            magasin.fermer()
    vide = pd.DataFrame(columns=COLONNES_PUBLIQUES_AGENDA + ["territoire", "territoire_code"])
    return Agenda(pd.concat(tables, ignore_index=True) if tables else vide, avertissements)


def lire_agenda(facade, depuis: datetime | None = None, jusqua: datetime | None = None,
                dossier: Path | None = None) -> Agenda:
    """Agenda vu par l'utilisateur de ``facade`` : ses événements (``territoire`` vide) puis ceux partagés par les
    autres territoires (lecture seule), triés par début."""
    propres = facade.lire_agenda(depuis, jusqua).assign(territoire=None, territoire_code=None)
    partages = lire_evenements_partages(dossier, depuis, jusqua)
    morceaux = [t for t in (propres, partages.evenements.assign(inscrit=False)) if len(t)]
    table = pd.concat(morceaux, ignore_index=True) if morceaux else propres
    table = table.sort_values(["debut", "id"], kind="stable").reset_index(drop=True)
    return Agenda(table, partages.avertissements)


def separer_a_venir(table: pd.DataFrame, maintenant: datetime | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(à venir ou en cours, du plus proche au plus lointain ; passés, du plus récent au plus ancien)."""
    maintenant = maintenant or maintenant_utc()
    if table.empty:
        return table, table
    fin = pd.to_datetime(table["fin"])
    a_venir = table[(fin >= maintenant).to_numpy(bool)]
    passes = table[(fin < maintenant).to_numpy(bool)].iloc[::-1]
    return a_venir, passes


# ------------------------------------------------------------------------------------ iCalendar


def _nom_fichier(titre: str, evenement_id: int) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", str(titre).lower().encode("ascii", "ignore").decode()).strip("-")[:40]
    return f"evenement-{int(evenement_id)}{'-' + base if base else ''}.ics"


def construire_ics_evenement(facade, evenement_id: int, nom_territoire: str = "Désimper",
                             maintenant: datetime | None = None) -> tuple[str, bytes]:
    """(nom de fichier, contenu) du ``.ics`` d'un événement, tel que l'utilisateur peut le lire (opérations liées
    lisibles seulement)."""
    evenement = facade.lire_evenement(int(evenement_id))
    evenement["genre_libelle"] = lire_genres_evenement().get(evenement["genre"], evenement["genre"])
    application = lire_url_application()
    liens = {evenement["uid"]: application + lien_evenement(evenement["id"])} if application else {}
    texte = construire_calendrier([evenement], f"{nom_territoire} — {evenement['titre']}", maintenant, liens)
    return _nom_fichier(evenement["titre"], evenement["id"]), texte.encode("utf-8")


def _evenements_du_flux(magasin, depuis: datetime, jusqua: datetime) -> list[dict]:
    from donnees.droits import MagasinProtege

    facade = MagasinProtege(magasin, VISITEUR)
    table = facade.lire_agenda(depuis, jusqua)
    evenements = []
    for ident in table["id"].astype(int):
        evenement = facade.lire_evenement(ident)
        evenement["genre_libelle"] = lire_genres_evenement().get(evenement["genre"], evenement["genre"])
        evenements.append(evenement)
    return evenements


def construire_flux(dossier: Path | None = None, nom: str | None = None,
                    maintenant: datetime | None = None) -> tuple[str, int]:
    """Flux iCalendar public du territoire (événements de ``anciennete_flux_jours`` en arrière à
    ``horizon_flux_jours`` en avant) et des événements partagés par les autres territoires ; (texte, nombre)."""
    from donnees.magasin import Magasin
    from donnees.referentiel import lire_territoire

    dossier = Path(dossier) if dossier is not None else dossier_donnees()
    maintenant = maintenant or maintenant_utc()
    p = lire_parametres_agenda()
    depuis, jusqua = maintenant - timedelta(days=p["anciennete_flux_jours"]), \
        maintenant + timedelta(days=p["horizon_flux_jours"])
    nom = nom or str(lire_territoire(dossier).get("nom") or "Désimper")
    magasin = Magasin(url_base(dossier))
    try:
        magasin.creer_tables()
        evenements = _evenements_du_flux(magasin, depuis, jusqua)
    finally:
        magasin.fermer()
    territoires = {}
    for territoire in _territoires_autres(dossier):
        try:
            autre = Magasin(territoire.url)
        except ErreurDonnees:
            continue
        try:
            for evenement in _evenements_du_flux(autre, depuis, jusqua):
                if evenement["partage_territoires"]:
                    evenements.append(evenement)
                    territoires[evenement["uid"]] = territoire.nom
                    evenement["operations"] = []  # liens vers la base d'un autre territoire : non suivis ici
                    evenement["ressources"] = []
        except (ErreurDonnees, SQLAlchemyError):
            continue
        finally:
            autre.fermer()
    application = lire_url_application()
    liens = {e["uid"]: application + lien_evenement(e["id"]) for e in evenements
             if application and e["uid"] not in territoires}
    evenements.sort(key=lambda e: (e["debut"], e["uid"]))
    return construire_calendrier(evenements, f"Agenda — {nom}", maintenant, liens, territoires), len(evenements)


def exporter_flux(sortie: Path, dossier: Path | None = None, maintenant: datetime | None = None) -> int:
    """``desimper agenda exporter`` : écrit le flux dans ``sortie`` d'un coup (fichier provisoire du même
    dossier puis renommage : un lecteur ne voit jamais un fichier à moitié écrit) ; renvoie le nombre
    d'événements."""
    sortie = Path(sortie)
    texte, nombre = construire_flux(dossier, maintenant=maintenant)
    with sur_panne(f"le dossier {sortie.parent}", "ecriture"):
        sortie.parent.mkdir(parents=True, exist_ok=True)
        descripteur, provisoire = tempfile.mkstemp(prefix=f".{sortie.name}.", suffix=".tmp", dir=sortie.parent)
        try:
            with os.fdopen(descripteur, "wb") as fichier:
                fichier.write(texte.encode("utf-8"))
                fichier.flush()
                os.fsync(fichier.fileno())
            os.chmod(provisoire, 0o644)
            os.replace(provisoire, sortie)
        except BaseException:
            Path(provisoire).unlink(missing_ok=True)
            raise
    return nombre


# ------------------------------------------------------------------------------------ saisie


def preparer_horaire(jour: date, heure: time, duree_minutes: int) -> tuple[datetime, datetime]:
    """Début et fin UTC d'une saisie à l'heure de Paris (jour, heure de début, durée) ; l'heure de fin suit la
    durée réelle, passage d'heure compris."""
    debut = paris_vers_utc(jour, heure)
    if isinstance(duree_minutes, bool) or not isinstance(duree_minutes, int) or duree_minutes < 1:
        raise ErreurDonnees("Événement, durée : nombre de minutes ≥ 1 attendu.", "evenement", "fin")
    return debut, debut + timedelta(minutes=duree_minutes)


def situer_commune(code_insee: str, dossier: Path | None = None) -> tuple[float, float]:
    """Point (longitude, latitude WGS84) d'une commune du territoire : un point intérieur de son contour."""
    import shapely

    from donnees.droits.communes import lire_contours_communes
    from donnees.geometrie import vers_wgs84

    contour = lire_contours_communes(dossier).get(str(code_insee))
    if contour is None:
        raise ErreurDonnees(f"Commune {code_insee} inconnue du territoire : choisissez-en une dans la liste.",
                            "evenement", "longitude")
    point = vers_wgs84(shapely.points([contour.representative_point().coords[0]]))[0]
    return round(float(point.x), 6), round(float(point.y), 6)


__all__ = ["Agenda", "construire_flux", "construire_ics_evenement", "exporter_flux", "lire_agenda",
           "lire_evenements_partages", "lire_url_flux", "maintenant_utc", "preparer_horaire", "separer_a_venir",
           "situer_commune"]
