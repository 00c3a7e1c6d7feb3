"""Scénarios prospectifs dans le magasin (issue 15) : scénarios, sites candidats, avis des communes, conversion
d'un site en opération programmée.

Un site est une zone de projet : géométrie (WGS84, surface calculée en Lambert-93 à l'écriture), revêtements
avant et après (une désimperméabilisation : avant imperméable, après perméable), type de site, année. Chaque
écriture se fait en une transaction, avec sa ligne de journal ; une saisie invalide lève :class:`ErreurDonnees`
(message en français qui nomme le site et le champ) sans rien écrire. Les droits sont vérifiés par la façade
(:mod:`donnees.droits.scenarios`).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import ValidationError
from sqlalchemy import func, select, update

from donnees import nomenclatures
from donnees.erreurs import ErreurDonnees
from donnees.geometrie import aires_lambert93
from donnees.magasin.convertisseurs import _texte, _verifier_auteur, lire_resultat
from donnees.magasin.journal import _ligne_journal, _maintenant
from donnees.magasin.tables import AVIS_SITE, table_avis_site, table_scenario, table_site_scenario
from donnees.modele_operation import MOTIF_INSEE, Zone, traduire_erreurs, verifier_operation

LIBELLES_AVIS = {"propose": "proposé", "faisable": "faisable", "non_faisable": "non faisable",
                 "deja_prevu": "déjà prévu", "accepte": "accepté (devenu opération programmée)"}
AVIS_COMMUNE = ("faisable", "non_faisable", "deja_prevu")  # ce qu'une commune répond sur un site
ANNEE_MIN, ANNEE_MAX = 2000, 2100
COLONNES_SITES = ["site_id", "scenario_id", "code_insee", "parcelle_id", "surface_m2", "revetement_avant",
                  "revetement_apres", "type_site", "annee", "avis", "operation_id", "cree_par", "cree_le"]


def verifier_site(site: Mapping, rang: int | None = None) -> dict:
    """Site nettoyé (code INSEE, parcelle, géométrie shapely WGS84, revêtements, type, année) ; lève
    :class:`ErreurDonnees` qui nomme le site et le champ. Refuse un changement qui imperméabilise ou qui ne
    désimperméabilise rien (avant perméable)."""
    contexte = f"Site {rang}" if rang is not None else "Site"
    if not isinstance(site, Mapping):
        raise ErreurDonnees(f"{contexte} : dictionnaire attendu.", "site_scenario")
    code = str(site.get("code_insee") or "").strip()
    if not MOTIF_INSEE.match(code):
        raise ErreurDonnees(f"{contexte}, champ « code INSEE » (code_insee) : « {code} » n'est pas un code INSEE "
                            "(5 caractères, ex. 34301).", "site_scenario", "code_insee")
    try:
        zone = Zone.model_validate({k: site.get(k) for k in ("geometrie", "revetement_avant", "revetement_apres")})
    except ValidationError as exception:
        raise traduire_erreurs(exception, contexte, "site_scenario") from None
    impermeables = nomenclatures.codes_impermeables()
    revetements = nomenclatures.lire_revetements()["libelle"]
    if zone.revetement_apres in impermeables:
        raise ErreurDonnees(
            f"{contexte} : le revêtement après travaux « {revetements.get(zone.revetement_apres)} » est imperméable : "
            "ce changement imperméabilise au lieu de désimperméabiliser. Choisissez un revêtement perméable "
            "(pleine terre, pelouse, noue, pavés à joints enherbés…).", "site_scenario", "revetement_apres")
    if zone.revetement_avant not in impermeables:
        raise ErreurDonnees(
            f"{contexte} : le revêtement avant travaux « {revetements.get(zone.revetement_avant)} » est déjà "
            "perméable : il n'y a rien à désimperméabiliser ici.", "site_scenario", "revetement_avant")
    type_site = str(site.get("type_site") or "").strip()
    if type_site not in nomenclatures.lire_types_site():
        raise ErreurDonnees(f"{contexte}, champ « type de site » (type_site) : « {type_site} » inconnu (codes : "
                            f"{', '.join(nomenclatures.lire_types_site())}).", "site_scenario", "type_site")
    annee = site.get("annee")
    if isinstance(annee, bool) or not isinstance(annee, numbers.Integral) and not (
            isinstance(annee, str) and annee.strip().isdigit()):
        raise ErreurDonnees(f"{contexte}, champ « année » (annee) : « {annee} » n'est pas une année (ex. 2030).",
                            "site_scenario", "annee")
    annee = int(annee)
    if not ANNEE_MIN <= annee <= ANNEE_MAX:
        raise ErreurDonnees(f"{contexte}, champ « année » (annee) : {annee} hors de {ANNEE_MIN}–{ANNEE_MAX}.",
                            "site_scenario", "annee")
    parcelle = site.get("parcelle_id")
    parcelle = str(parcelle).strip() if parcelle is not None and str(parcelle).strip() else None
    return {"code_insee": code, "parcelle_id": parcelle, "geometrie": zone.geometrie,
            "revetement_avant": zone.revetement_avant, "revetement_apres": zone.revetement_apres,
            "type_site": type_site, "annee": annee}


class ScenariosMagasin:
    """Méthodes du magasin pour les scénarios (mêlées à :class:`donnees.magasin.Magasin`)."""

    # ---------------------------------------------------------------- scénarios

    def creer_scenario(self, nom: Any, description: Any, auteur: str) -> int:
        """Crée un scénario vide (non partagé) ; renvoie son identifiant. Nom obligatoire et unique."""
        auteur = _verifier_auteur(auteur)
        nom = _texte("Scénario", "nom", nom, obligatoire=True)
        description = _texte("Scénario", "description", description)
        maintenant = _maintenant()
        with self._ecrire() as conn:
            self._verifier_nom_libre(conn, nom)
            scenario_id = int(conn.execute(table_scenario.insert().values(
                nom=nom, description=description, partage=False, cree_par=auteur, cree_le=maintenant, version=1,
                supprime=False)).inserted_primary_key[0])
            self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "creation", "scenario", scenario_id,
                                                        {"nom": nom, "description": description})])
        return scenario_id

    def _verifier_nom_libre(self, conn, nom: str, sauf: int | None = None) -> None:
        requete = select(table_scenario.c.id).where(func.lower(table_scenario.c.nom) == nom.lower(),
                                                    table_scenario.c.supprime.is_(False))
        if sauf is not None:
            requete = requete.where(table_scenario.c.id != sauf)
        if conn.execute(requete).first() is not None:
            raise ErreurDonnees(f"Scénario : un scénario s'appelle déjà « {nom} ». Choisissez un autre nom.",
                                "scenario", "nom")

    def lire_scenario(self, scenario_id: int) -> dict:
        """Un scénario (dictionnaire) ; :class:`ErreurDonnees` s'il n'existe pas ou est supprimé."""
        with self._lire() as conn:
            ligne = conn.execute(select(table_scenario).where(table_scenario.c.id == int(scenario_id))).first()
        if ligne is None or ligne.supprime:
            raise ErreurDonnees(f"Scénario n° {scenario_id} introuvable (supprimé ?).", "scenario", "id")
        return dict(ligne._mapping)

    def modifier_scenario(self, scenario_id: int, version_attendue: int, modifications: Mapping, auteur: str) -> int:
        """Modifie ``nom``, ``description`` ou ``partage`` ; verrouillage optimiste ; renvoie la version."""
        auteur = _verifier_auteur(auteur)
        inconnues = sorted(set(modifications) - {"nom", "description", "partage"})
        if inconnues:
            raise ErreurDonnees(f"Scénario : champ(s) non modifiable(s) {', '.join(inconnues)}.", "scenario")
        propres = {}
        if "nom" in modifications:
            propres["nom"] = _texte("Scénario", "nom", modifications["nom"], obligatoire=True)
        if "description" in modifications:
            propres["description"] = _texte("Scénario", "description", modifications["description"])
        if "partage" in modifications:
            if not isinstance(modifications["partage"], (bool, np.bool_)):
                raise ErreurDonnees("Scénario, champ « partage » : vrai ou faux attendu.", "scenario", "partage")
            propres["partage"] = bool(modifications["partage"])
        with self._ecrire() as conn:
            actuel = conn.execute(select(table_scenario).where(table_scenario.c.id == int(scenario_id))).first()
            if actuel is None or actuel.supprime:
                raise ErreurDonnees(f"Scénario n° {scenario_id} introuvable (supprimé ?).", "scenario", "id")
            if int(actuel.version) != int(version_attendue):
                raise ErreurDonnees(f"Scénario « {actuel.nom} » modifié entre-temps (version {actuel.version}, "
                                    f"attendue {version_attendue}) : rechargez-le.", "scenario", "version")
            if "nom" in propres:
                self._verifier_nom_libre(conn, propres["nom"], int(scenario_id))
            diff = {c: [getattr(actuel, c), v] for c, v in propres.items() if getattr(actuel, c) != v}
            if not diff:
                return int(actuel.version)
            version = int(actuel.version) + 1
            conn.execute(update(table_scenario).where(table_scenario.c.id == int(scenario_id)).values(
                **propres, version=version, modifie_par=auteur, modifie_le=_maintenant()))
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), auteur, "modification", "scenario",
                                                        int(scenario_id), diff)])
        return version

    def supprimer_scenario(self, scenario_id: int, auteur: str) -> None:
        """Marque un scénario supprimé (ses sites restent en base, pour le journal)."""
        auteur = _verifier_auteur(auteur)
        with self._ecrire() as conn:
            fait = conn.execute(update(table_scenario).where(table_scenario.c.id == int(scenario_id),
                                                             table_scenario.c.supprime.is_(False))
                                .values(supprime=True, modifie_par=auteur, modifie_le=_maintenant()))
            if fait.rowcount != 1:
                raise ErreurDonnees(f"Scénario n° {scenario_id} introuvable (supprimé ?).", "scenario", "id")
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), auteur, "suppression", "scenario",
                                                        int(scenario_id), {"supprime": [False, True]})])

    def lire_scenarios(self) -> pd.DataFrame:
        """Scénarios non supprimés, avec leur nombre de sites et leur surface totale (m²)."""
        sites = (select(table_site_scenario.c.scenario_id, func.count().label("nombre_sites"),
                        func.sum(table_site_scenario.c.surface_m2).label("surface_sites_m2"))
                 .group_by(table_site_scenario.c.scenario_id).subquery())
        requete = (select(table_scenario.c.id, table_scenario.c.nom, table_scenario.c.description,
                          table_scenario.c.partage, table_scenario.c.cree_par, table_scenario.c.cree_le,
                          table_scenario.c.modifie_le, table_scenario.c.version, sites.c.nombre_sites,
                          sites.c.surface_sites_m2)
                   .outerjoin(sites, sites.c.scenario_id == table_scenario.c.id)
                   .where(table_scenario.c.supprime.is_(False)).order_by(table_scenario.c.id))
        with self._lire() as conn:
            table = lire_resultat(conn.execute(requete))
        table["nombre_sites"] = table["nombre_sites"].fillna(0).astype(int)
        table["surface_sites_m2"] = table["surface_sites_m2"].fillna(0.0).astype(float)
        table["partage"] = table["partage"].astype(bool)
        return table

    # ---------------------------------------------------------------- sites

    def ajouter_sites(self, scenario_id: int, sites: Sequence[Mapping], auteur: str) -> list[int]:
        """Ajoute des sites (vérifiés tous avant la moindre écriture) ; renvoie leurs identifiants."""
        auteur = _verifier_auteur(auteur)
        propres = [verifier_site(site, rang) for rang, site in enumerate(sites, start=1)]
        if not propres:
            raise ErreurDonnees("Scénario : aucun site à ajouter.", "site_scenario")
        surfaces = aires_lambert93(np.array([p["geometrie"] for p in propres], dtype=object))
        vides = [rang for rang, surface in enumerate(surfaces, start=1) if not surface > 0]
        if vides:
            raise ErreurDonnees(f"Site(s) {', '.join(map(str, vides))} : surface nulle (géométrie sans aire).",
                                "site_scenario", "geometrie")
        maintenant = _maintenant()
        with self._ecrire() as conn:
            scenario = conn.execute(select(table_scenario.c.supprime).where(
                table_scenario.c.id == int(scenario_id))).first()
            if scenario is None or scenario.supprime:
                raise ErreurDonnees(f"Scénario n° {scenario_id} introuvable (supprimé ?).", "scenario", "id")
            ids = []
            for propre, surface in zip(propres, surfaces):
                site_id = int(conn.execute(table_site_scenario.insert().values(
                    scenario_id=int(scenario_id), **propre, surface_m2=float(surface), avis="propose",
                    cree_par=auteur, cree_le=maintenant)).inserted_primary_key[0])
                ids.append(site_id)
            self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "creation", "site_scenario", site_id, {
                "scenario_id": int(scenario_id), "code_insee": p["code_insee"], "parcelle_id": p["parcelle_id"],
                "surface_m2": round(float(s), 2), "revetement_avant": p["revetement_avant"],
                "revetement_apres": p["revetement_apres"], "type_site": p["type_site"], "annee": p["annee"]})
                for site_id, p, s in zip(ids, propres, surfaces)])
        return ids

    def retirer_site(self, site_id: int, auteur: str) -> None:
        """Retire un site d'un scénario (et ses avis) ; refusé s'il est déjà devenu une opération."""
        auteur = _verifier_auteur(auteur)
        with self._ecrire() as conn:
            site = conn.execute(select(table_site_scenario).where(table_site_scenario.c.id == int(site_id))).first()
            if site is None:
                raise ErreurDonnees(f"Site n° {site_id} introuvable.", "site_scenario", "id")
            if site.operation_id is not None:
                raise ErreurDonnees(f"Site n° {site_id} : déjà devenu l'opération n° {site.operation_id}, il reste "
                                    "dans le scénario pour garder le lien.", "site_scenario", "operation_id")
            conn.execute(table_site_scenario.delete().where(table_site_scenario.c.id == int(site_id)))
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), auteur, "suppression", "site_scenario",
                                                        int(site_id), {"scenario_id": int(site.scenario_id)})])

    def lire_site(self, site_id: int) -> dict:
        """Un site (dictionnaire, géométrie shapely WGS84) ; :class:`ErreurDonnees` s'il n'existe pas."""
        with self._lire() as conn:
            ligne = conn.execute(select(table_site_scenario).where(table_site_scenario.c.id == int(site_id))).first()
        if ligne is None:
            raise ErreurDonnees(f"Site n° {site_id} introuvable (retiré du scénario ?).", "site_scenario", "id")
        site = dict(ligne._mapping)
        site["geometrie"] = shapely.from_wkb(site["geometrie"])
        return site

    def lire_sites(self, scenario_id: int | None = None) -> gpd.GeoDataFrame:
        """Sites (d'un scénario, ou de tous), une ligne par site, géométrie WGS84 (EPSG:4326)."""
        s = table_site_scenario.c
        requete = select(s.id.label("site_id"), *(getattr(s, c) for c in COLONNES_SITES[1:]), s.geometrie)
        if scenario_id is not None:
            requete = requete.where(s.scenario_id == int(scenario_id))
        with self._lire() as conn:
            table = lire_resultat(conn.execute(requete.order_by(s.id)))
        geometries = shapely.from_wkb(table.pop("geometrie").to_numpy()) if len(table) else []
        table["surface_m2"] = table["surface_m2"].astype(float)
        table["operation_id"] = table["operation_id"].astype("Int64")
        return gpd.GeoDataFrame(table, geometry=geometries, crs=4326)

    # ---------------------------------------------------------------- avis et conversion

    def donner_avis(self, site_id: int, avis: str, commentaire: Any, auteur: str) -> int:
        """Avis d'une commune sur un site (faisable, non faisable, déjà prévu) et son commentaire ; l'avis du
        site devient le dernier donné. Renvoie l'identifiant de l'avis."""
        auteur = _verifier_auteur(auteur)
        if avis not in AVIS_COMMUNE:
            raise ErreurDonnees(f"Avis « {avis} » inconnu : {', '.join(LIBELLES_AVIS[a] for a in AVIS_COMMUNE)}.",
                                "avis_site", "avis")
        commentaire = _texte("Avis", "commentaire", commentaire)
        if avis == "non_faisable" and not commentaire:
            raise ErreurDonnees("Avis « non faisable » : dites pourquoi en commentaire (foncier, réseaux, usage…).",
                                "avis_site", "commentaire")
        maintenant = _maintenant()
        with self._ecrire() as conn:
            site = conn.execute(select(table_site_scenario).where(table_site_scenario.c.id == int(site_id))).first()
            if site is None:
                raise ErreurDonnees(f"Site n° {site_id} introuvable (retiré du scénario ?).", "site_scenario", "id")
            if site.avis == "accepte":
                raise ErreurDonnees(f"Site n° {site_id} : déjà devenu l'opération n° {site.operation_id}.",
                                    "site_scenario", "avis")
            avis_id = int(conn.execute(table_avis_site.insert().values(
                site_id=int(site_id), auteur=auteur, avis=avis, commentaire=commentaire,
                cree_le=maintenant)).inserted_primary_key[0])
            conn.execute(update(table_site_scenario).where(table_site_scenario.c.id == int(site_id))
                         .values(avis=avis))
            self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "modification", "site_scenario",
                                                        int(site_id), {"avis": [site.avis, avis],
                                                                       "commentaire": commentaire})])
        return avis_id

    def lire_avis(self, scenario_id: int | None = None) -> pd.DataFrame:
        """Avis donnés sur les sites (d'un scénario), du plus ancien au plus récent."""
        a, s = table_avis_site.c, table_site_scenario.c
        requete = (select(a.id, a.site_id, s.scenario_id, s.code_insee, a.auteur, a.avis, a.commentaire, a.cree_le)
                   .join(table_site_scenario, s.id == a.site_id))
        if scenario_id is not None:
            requete = requete.where(s.scenario_id == int(scenario_id))
        with self._lire() as conn:
            return lire_resultat(conn.execute(requete.order_by(a.id)))

    def convertir_site(self, site_id: int, operation: Mapping, auteur: str) -> int:
        """Crée l'opération programmée née d'un site et lie le site à elle (avis « accepté »), en une
        transaction ; renvoie l'identifiant de l'opération. Refusé si le site est déjà converti."""
        auteur = _verifier_auteur(auteur)
        propre = verifier_operation(operation)
        with self._ecrire() as conn:
            site = conn.execute(select(table_site_scenario).where(table_site_scenario.c.id == int(site_id))).first()
            if site is None:
                raise ErreurDonnees(f"Site n° {site_id} introuvable (retiré du scénario ?).", "site_scenario", "id")
            if site.operation_id is not None:
                raise ErreurDonnees(f"Site n° {site_id} : déjà devenu l'opération n° {site.operation_id}.",
                                    "site_scenario", "operation_id")
            operation_id = self._inserer_operations(conn, [propre], auteur)[0]
            conn.execute(update(table_site_scenario).where(table_site_scenario.c.id == int(site_id))
                         .values(operation_id=operation_id, avis="accepte"))
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), auteur, "modification", "site_scenario",
                                                        int(site_id), {"avis": [site.avis, "accepte"],
                                                                       "operation_id": [None, operation_id]})])
        return operation_id


__all__ = ["AVIS_COMMUNE", "AVIS_SITE", "LIBELLES_AVIS", "ScenariosMagasin", "verifier_site"]
