"""Scénarios prospectifs (issue 15, partie 2) : sites tirés des parcelles, coût estimé d'après le registre, effet
calculé avec les mêmes modèles que le registre, comparaison.

Effet d'un scénario, mesuré **au-delà des opérations réalisées** (celles du registre, validées) :

- « Opérations programmées seules » : les opérations programmées et en travaux du registre ;
- un scénario : ces mêmes opérations **plus** ses sites, comptés comme des zones d'opérations programmées.

Surfaces et volumes : formules par zone du registre (:func:`indicateurs.calcul.calculer_indicateurs_operations`) ;
chaleur : modèle sur grille (scénario « réalisées + programmées » moins « réalisées »), calculé par la mise à jour
fenêtrée du dernier résultat en mémoire quand il le permet (:mod:`indicateurs.mise_a_jour`, même résultat que le
calcul complet) ; eau sur grille : comptes (commune × revêtement) du même calcul ; ratio SDAGE projeté =
100 × surface désimperméabilisée cumulée (réalisée + ajoutée) / surfaces nouvellement imperméabilisées déclarées ;
trajectoire : cumul par année contre les objectifs du bassin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from donnees.config import dossier_donnees
from donnees.erreurs import ErreurDonnees
from donnees.format import formater_nombre
from donnees.geometrie import en_lambert93, en_wgs84, extraire_polygones
from donnees.nomenclatures import PREFIXE_IMPERMEABLE, lire_correspondance_ocsge
from donnees.referentiel import lire_couche_facultative, lire_territoire
from indicateurs.calcul import calculer_indicateurs_operations
from indicateurs.chaleur import ParametresChaleur
from indicateurs.communs import CODE_BASSIN
from indicateurs.parametres import lire_parametres
from indicateurs.priorites import CODE_CS_BATI
from indicateurs.scenarios import (
    estimer_couts_sites,
    lire_parametres_scenarios,
    moyenner_chaleur_bassin,
    relever_couts_unitaires,
)
from indicateurs.trajectoire import calculer_ratio_compensation, calculer_trajectoire, sommer_nouvelles_surfaces
from services.priorites import lire_couche_communes

REFERENCE = "Opérations programmées seules"
STATUTS_AJOUTES = ("programmee", "en_travaux")
CHIFFRES = {  # clé → (libellé, unité, décimales) ; l'ordre est celui des tableaux de comparaison
    "nombre_sites": ("Sites du scénario", "", 0),
    "surface_ajoutee": ("Surface désimperméabilisée en plus des réalisées", "m²", 0),
    "volume_ajoute": ("Volume retenu en plus (formule par zone du registre)", "m³/an", 0),
    "cout_estime": ("Coût estimé des sites (médiane du registre)", "€", 0),
    "delta_t_air": ("Écart de température de l'air moyenne du bassin (modèle sur grille)", "°C", 3),
    "delta_t_air_commune": ("Plus fort écart de température moyenne d'une commune (modèle sur grille)", "°C", 3),
    "delta_ilot_chaleur": ("Écart de surface en îlot de chaleur (modèle sur grille)", "m²", 0),
    "delta_volume_grille": ("Volume retenu en plus (modèle de l'eau sur grille)", "m³/an", 0),
    "ratio_sdage": ("Ratio de compensation SDAGE projeté", "%", 0),
    "taux_objectif": ("Objectif du bassin atteint à l'horizon", "%", 0),
}


@dataclass
class EffetScenario:
    """Effet d'un scénario (ou des seules opérations programmées) : chiffres de tête (:data:`CHIFFRES`), une ligne
    par site (surface, volume, coût et sa base), trajectoire du bassin, écarts par commune du modèle."""

    nom: str
    chiffres: dict
    sites: pd.DataFrame = field(default_factory=pd.DataFrame)
    trajectoire: pd.DataFrame = field(default_factory=pd.DataFrame)
    communes: pd.DataFrame = field(default_factory=pd.DataFrame)
    modele_chaleur: pd.DataFrame = field(default_factory=pd.DataFrame)  # table par commune × scénario du modèle
    modele_eau: pd.DataFrame = field(default_factory=pd.DataFrame)


# ------------------------------------------------------------------------------------ sites depuis les parcelles


def construire_sites_parcelles(code: str, parcelles: list[str], revetement_apres: str, annee: int, type_site: str,
                               dossier: Path | None = None) -> list[dict]:
    """Sites d'un scénario tirés de parcelles de la commune ``code`` : géométrie = partie imperméable non bâtie de
    la parcelle (occupation du sol), revêtement avant = le revêtement imperméable dominant de cette partie.
    Une parcelle absente du cadastre importé, ou sans surface imperméable non bâtie, lève :class:`ErreurDonnees`
    qui la nomme."""
    dossier = Path(dossier) if dossier else dossier_donnees()
    demandees = [str(p).strip() for p in parcelles]
    if not demandees:
        raise ErreurDonnees("Aucune parcelle choisie : cochez au moins une parcelle de la carte du potentiel.",
                            "site_scenario", "parcelle_id")
    cadastre = lire_couche_communes("parcelles", dossier, [code])
    absentes = sorted(set(demandees) - set(cadastre["id"].astype(str)))
    if absentes:
        raise ErreurDonnees(f"Parcelle(s) {', '.join(absentes[:5])} absente(s) du cadastre de la commune {code} "
                            "(cadastre réimporté depuis ?). Choisissez-les de nouveau sur la carte du potentiel.",
                            "site_scenario", "parcelle_id", absentes[:5])
    cadastre = en_lambert93(cadastre.set_index("id").loc[demandees].reset_index())
    occupation = lire_couche_communes("occupation", dossier, [code])
    codes_cs = occupation["code_cs"].astype(str)
    scellees = en_lambert93(occupation.loc[(codes_cs.str.startswith(PREFIXE_IMPERMEABLE)
                                            & codes_cs.ne(CODE_CS_BATI)).to_numpy(bool)])
    correspondance = lire_correspondance_ocsge()
    revetement_cs = dict(zip(correspondance["code_cs"], correspondance["revetement"]))
    arbre = shapely.STRtree(scellees.geometry.to_numpy())
    sites = []
    for parcelle, geometrie in zip(cadastre["id"].astype(str), cadastre.geometry.to_numpy()):
        indices = arbre.query(geometrie, predicate="intersects")
        morceaux = shapely.intersection(scellees.geometry.to_numpy()[indices], geometrie)
        aires = shapely.area(morceaux)
        if not len(indices) or aires.sum() <= 0:
            raise ErreurDonnees(f"Parcelle {parcelle} : aucune surface imperméable non bâtie d'après l'occupation du "
                                "sol : rien à désimperméabiliser. Dessinez la zone si le terrain dit autre chose.",
                                "site_scenario", "parcelle_id", [parcelle])
        par_revetement = pd.Series(aires).groupby(
            [revetement_cs.get(c, "enrobe") for c in scellees["code_cs"].astype(str).to_numpy()[indices]]).sum()
        zone = extraire_polygones(np.array([shapely.make_valid(shapely.union_all(morceaux[aires > 0]))],
                                           dtype=object))[0]
        zone = en_wgs84(gpd.GeoSeries([zone], crs=2154)).iloc[0]
        if not zone.is_valid:  # la reprojection peut faire se toucher deux sommets voisins
            zone = extraire_polygones(np.array([shapely.make_valid(zone)], dtype=object))[0]
        sites.append({"code_insee": code, "parcelle_id": parcelle, "geometrie": zone,
                      "revetement_avant": str(par_revetement.idxmax()), "revetement_apres": revetement_apres,
                      "type_site": type_site, "annee": int(annee)})
    return sites


# ------------------------------------------------------------------------------------ effet


def _operations_sites(sites: pd.DataFrame) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Sites vus comme des opérations programmées validées (identifiants négatifs : jamais ceux du registre) et
    leurs zones, pour les mêmes calculs que le registre."""
    ids = -sites["site_id"].astype(int).to_numpy()
    operations = pd.DataFrame({"id": ids, "code_insee": sites["code_insee"].astype(str).to_numpy(),
                               "nom": [f"Site {-i}" for i in ids], "type_site": sites["type_site"].to_numpy(),
                               "statut": "programmee", "validation": "validee",
                               "annee": sites["annee"].astype("Int64").array, "deconnexion_reseau": False,
                               "localisation_approximative": False})
    zones = gpd.GeoDataFrame({
        "zone_id": ids, "operation_id": ids, "revetement_avant": sites["revetement_avant"].to_numpy(),
        "revetement_apres": sites["revetement_apres"].to_numpy(), "surface_m2": sites["surface_m2"].to_numpy(float),
        "code_insee": operations["code_insee"].to_numpy(), "type_site": operations["type_site"].to_numpy(),
        "statut": "programmee", "validation": "validee", "annee": operations["annee"].array,
        "nom": operations["nom"].to_numpy()}, geometry=sites.geometry.to_numpy(), crs=sites.crs or 4326)
    return operations, zones


@dataclass
class ContexteScenarios:
    """Ce que partagent les calculs de scénarios d'un territoire : paramètres, registre (indicateurs par opération
    validée, zones des modèles), coûts unitaires, référentiel, modèles du registre."""

    dossier: Path
    parametres: object
    indicateurs_registre: pd.DataFrame
    zones_modeles: gpd.GeoDataFrame
    couts: pd.DataFrame
    objectifs: pd.DataFrame
    nouvelles_surfaces: pd.DataFrame
    codes: list[str]
    modeles: object


def preparer_contexte(dossier: Path | None = None, modeles=None) -> ContexteScenarios:
    """Lit une fois le registre (opérations validées), les objectifs, les surfaces nouvellement imperméabilisées et
    les modèles du registre (en cache)."""
    from services.magasin import lire_registre
    from services.modeles import _lire_zones_modeles, calculer_modeles_territoire

    dossier = Path(dossier) if dossier else dossier_donnees()
    territoire = lire_territoire(dossier)
    parametres = lire_parametres(territoire.get("parametres"))
    operations, zones, financements = lire_registre(dossier)
    validees = operations[operations["validation"].eq("validee").to_numpy(bool)]
    indicateurs = calculer_indicateurs_operations(validees, zones, financements, parametres)
    modeles = modeles or calculer_modeles_territoire(dossier)
    return ContexteScenarios(
        dossier, parametres, indicateurs, _lire_zones_modeles(dossier),
        relever_couts_unitaires(indicateurs, zones[zones["operation_id"].isin(validees["id"]).to_numpy(bool)]),
        lire_couche_facultative("objectifs", dossier), lire_couche_facultative("nouvelles_surfaces", dossier),
        [str(c) for c in territoire["codes_insee"]], modeles)


def _chiffres_modeles(chaleur_communes: pd.DataFrame, eau: pd.DataFrame, base_communes: pd.DataFrame,
                      base_eau: pd.DataFrame) -> dict:
    """Écarts du scénario « réalisées + programmées » d'un résultat avec le scénario « réalisées » du registre."""
    t_apres, ilot_apres = moyenner_chaleur_bassin(chaleur_communes, "realisees_programmees")
    t_avant, ilot_avant = moyenner_chaleur_bassin(base_communes, "realisees")

    def retenu(table: pd.DataFrame, scenario: str) -> float:
        return float(table.loc[table["scenario"] == scenario, "volume_retention_m3_an"].sum())

    apres = chaleur_communes[chaleur_communes["scenario"] == "realisees_programmees"].set_index("code_insee")
    avant = base_communes[base_communes["scenario"] == "realisees"].set_index("code_insee")
    ecarts = (apres["t_air_moyenne_c"] - avant["t_air_moyenne_c"].reindex(apres.index)).dropna()
    return {"delta_t_air": t_apres - t_avant, "delta_ilot_chaleur": ilot_apres - ilot_avant,
            "delta_t_air_commune": float(ecarts.min()) if len(ecarts) else float("nan"),
            "delta_volume_grille": retenu(eau, "realisees_programmees") - retenu(base_eau, "realisees")}


def _chiffres_registre(contexte: ContexteScenarios, ajoutes: pd.DataFrame) -> dict:
    """Surface et volume ajoutés, ratio SDAGE projeté, taux d'atteinte de l'objectif du bassin à l'horizon, et la
    trajectoire, pour les opérations réalisées du registre plus ``ajoutes`` (indicateurs par opération)."""
    registre = contexte.indicateurs_registre
    realisees = registre[registre["statut"].eq("realisee").to_numpy(bool)]
    toutes = pd.concat([realisees, ajoutes], ignore_index=True)
    nouvelles = sommer_nouvelles_surfaces(contexte.nouvelles_surfaces).sum()
    ratio = float(calculer_ratio_compensation(toutes["surface_desimpermeabilisee"].sum(), nouvelles)) \
        if nouvelles > 0 else float("nan")
    annees = sorted({int(a) for a in toutes["annee"].dropna()}
                    | {int(a) for a in (contexte.objectifs["annee"] if len(contexte.objectifs) else [])})
    trajectoire = calculer_trajectoire(toutes, contexte.objectifs, contexte.codes, annees)
    bassin = trajectoire[trajectoire["territoire"] == CODE_BASSIN].reset_index(drop=True)
    avec_objectif = bassin[bassin["objectif_cumule"].gt(0).to_numpy(bool)]
    taux = (float(100 * avec_objectif["surface_cumulee_projetee"].iloc[-1] / avec_objectif["objectif_cumule"].iloc[-1])
            if len(avec_objectif) else float("nan"))
    return {"surface_ajoutee": float(ajoutes["surface_desimpermeabilisee"].sum()),
            "volume_ajoute": float(ajoutes["volume_infiltre"].sum()), "ratio_sdage": ratio,
            "taux_objectif": taux}, bassin[["annee", "surface_cumulee_projetee", "objectif_cumule"]]


def calculer_reference(contexte: ContexteScenarios) -> EffetScenario:
    """Effet des seules opérations programmées et en travaux du registre (au-delà des réalisées)."""
    registre = contexte.indicateurs_registre
    ajoutes = registre[registre["statut"].isin(STATUTS_AJOUTES).to_numpy(bool)]
    chiffres, trajectoire = _chiffres_registre(contexte, ajoutes)
    chaleur = contexte.modeles.chaleur.communes
    chiffres.update(_chiffres_modeles(chaleur, contexte.modeles.eau_communes, chaleur, contexte.modeles.eau_communes))
    chiffres.update(nombre_sites=0, cout_estime=float("nan"), cout_bas=float("nan"), cout_haut=float("nan"))
    return EffetScenario(REFERENCE, chiffres, trajectoire=trajectoire)


def calculer_effet_scenario(nom: str, sites: gpd.GeoDataFrame, contexte: ContexteScenarios) -> EffetScenario:
    """Effet d'un scénario : ses sites (:meth:`Magasin.lire_sites`) ajoutés aux opérations programmées du registre,
    mêmes formules et mêmes modèles. Un scénario vide lève :class:`ErreurDonnees`."""
    from services.modeles import _obtenir_chaleur, calculer_eau_modeles

    if sites is None or sites.empty:
        raise ErreurDonnees(f"Scénario « {nom} » vide : ajoutez des sites (parcelles de la carte du potentiel ou "
                            "zones dessinées) avant de calculer son effet.", "scenario", "sites")
    hors = sorted(set(sites["code_insee"].astype(str)) - set(contexte.codes))
    if hors:
        raise ErreurDonnees(f"Scénario « {nom} » : site(s) dans des communes hors du territoire ({', '.join(hors)}).",
                            "scenario", "code_insee")
    operations, zones = _operations_sites(sites)
    par_site = calculer_indicateurs_operations(operations, zones, None, contexte.parametres)
    registre = contexte.indicateurs_registre
    ajoutes = pd.concat([registre[registre["statut"].isin(STATUTS_AJOUTES).to_numpy(bool)], par_site],
                        ignore_index=True)
    chiffres, trajectoire = _chiffres_registre(contexte, ajoutes)
    couts = estimer_couts_sites(sites.assign(surface_m2=par_site["surface_zones"].to_numpy(float)), contexte.couts,
                                int(lire_parametres_scenarios()["effectif_min_cout"]))
    toutes_zones = gpd.GeoDataFrame(pd.concat([contexte.zones_modeles, zones], ignore_index=True),
                                    geometry="geometry", crs=contexte.zones_modeles.crs or 4326)
    occupation = contexte.modeles.occupation
    chaleur = _obtenir_chaleur(contexte.dossier, occupation, toutes_zones,
                               ParametresChaleur.depuis_parametres(contexte.parametres), False, True)
    eau = calculer_eau_modeles(occupation, toutes_zones, contexte.parametres, chaleur)
    chiffres.update(_chiffres_modeles(chaleur.communes, eau, contexte.modeles.chaleur.communes,
                                      contexte.modeles.eau_communes))
    chiffres.update(nombre_sites=len(sites), cout_estime=float(couts["cout_estime"].sum(min_count=1)),
                    cout_bas=float(couts["cout_bas"].sum(min_count=1)),
                    cout_haut=float(couts["cout_haut"].sum(min_count=1)))
    detail = pd.concat([sites[["site_id", "code_insee", "parcelle_id", "type_site", "revetement_avant",
                               "revetement_apres", "annee", "avis"]].reset_index(drop=True),
                        par_site[["surface_desimpermeabilisee", "volume_infiltre"]].reset_index(drop=True),
                        couts.reset_index(drop=True)], axis=1)
    base = contexte.modeles.chaleur.communes
    communes = (chaleur.communes[chaleur.communes["scenario"] == "realisees_programmees"]
                .merge(base[base["scenario"] == "realisees_programmees"], on="code_insee", suffixes=("", "_reference")))
    communes = pd.DataFrame({"code_insee": communes["code_insee"],
                             "delta_t_air_c": communes["t_air_moyenne_c"] - communes["t_air_moyenne_c_reference"],
                             "delta_ilot_chaleur_m2": communes["surface_ilot_chaleur_m2"]
                             - communes["surface_ilot_chaleur_m2_reference"]})
    return EffetScenario(nom, chiffres, detail, trajectoire, communes, chaleur.communes, eau)


def comparer_effets(effets: list[EffetScenario]) -> pd.DataFrame:
    """Tableau de comparaison côte à côte : une ligne par chiffre de :data:`CHIFFRES` (libellé et unité), une
    colonne par effet, valeurs à la française ; coût avec sa fourchette (1er – 3e quartile)."""
    lignes = []
    for cle, (libelle, unite, decimales) in CHIFFRES.items():
        ligne = {"Chiffre": libelle + (f" ({unite})" if unite else "")}
        for effet in effets:
            valeur = effet.chiffres.get(cle)
            if valeur is None or (isinstance(valeur, float) and np.isnan(valeur)):
                texte = "—"
            elif cle == "cout_estime":
                texte = (f"{formater_nombre(valeur, 0)} ({formater_nombre(effet.chiffres['cout_bas'], 0)} – "
                         f"{formater_nombre(effet.chiffres['cout_haut'], 0)})")
            elif cle in ("delta_t_air", "delta_t_air_commune"):
                texte = f"{'+' if valeur > 0 else ''}{formater_nombre(valeur, decimales)}"
            else:
                texte = formater_nombre(valeur, decimales)
            ligne[effet.nom] = texte
        lignes.append(ligne)
    return pd.DataFrame(lignes)


# ------------------------------------------------------------------------------------ ligne de commande


def lister_scenarios(dossier: Path | None = None) -> pd.DataFrame:
    """Scénarios du territoire (identifiant, nom, partagé, sites, surface des sites en m²), en français."""
    from services.magasin import ouvrir_magasin

    with ouvrir_magasin(dossier) as magasin:
        magasin.creer_tables()
        scenarios = magasin.lire_scenarios()
    return pd.DataFrame({"n°": scenarios["id"].astype(int), "nom": scenarios["nom"],
                         "partagé": scenarios["partage"].map({True: "oui", False: "non"}),
                         "sites": scenarios["nombre_sites"],
                         "surface des sites (m²)": [formater_nombre(v, 0) for v in scenarios["surface_sites_m2"]]})


def _lire_scenarios_sites(magasin, identifiants: list[int]) -> list[tuple[str, gpd.GeoDataFrame]]:
    connus = magasin.lire_scenarios().set_index("id")
    inconnus = [i for i in identifiants if i not in connus.index]
    if inconnus:
        raise ErreurDonnees(f"Scénario(s) n° {', '.join(map(str, inconnus))} introuvable(s) : voir « desimper "
                            "scenario lister ».", "scenario", "id")
    return [(str(connus.at[i, "nom"]), magasin.lire_sites(i)) for i in identifiants]


def calculer_scenarios(identifiants: list[int], dossier: Path | None = None) -> tuple[pd.DataFrame, list]:
    """Effets des scénarios ``identifiants`` et des seules opérations programmées, et leur tableau de
    comparaison (:func:`comparer_effets`)."""
    from services.magasin import ouvrir_magasin

    dossier = Path(dossier) if dossier else dossier_donnees()
    with ouvrir_magasin(dossier) as magasin:
        magasin.creer_tables()
        scenarios = _lire_scenarios_sites(magasin, identifiants)
    contexte = preparer_contexte(dossier)
    effets = [calculer_reference(contexte)] + [calculer_effet_scenario(nom, sites, contexte)
                                               for nom, sites in scenarios]
    return comparer_effets(effets), effets


FORMATS_EXPORT_SCENARIO = ("geojson", "csv")


def exporter_scenario(identifiant: int, format_sortie: str, dossier: Path | None = None) -> bytes:
    """Sites d'un scénario avec leur effet (surface, volume, coût estimé et sa base) et l'avis des communes :
    GeoJSON (WGS84) ou CSV (UTF-8 avec BOM, point-virgule, pour un tableur français)."""
    from services.magasin import ouvrir_magasin

    if format_sortie not in FORMATS_EXPORT_SCENARIO:
        raise ErreurDonnees(f"Format « {format_sortie} » inconnu (formats : {', '.join(FORMATS_EXPORT_SCENARIO)}).",
                            "scenario", "format")
    dossier = Path(dossier) if dossier else dossier_donnees()
    with ouvrir_magasin(dossier) as magasin:
        magasin.creer_tables()
        (nom, sites), = _lire_scenarios_sites(magasin, [int(identifiant)])
    effet = calculer_effet_scenario(nom, sites, preparer_contexte(dossier))
    table = gpd.GeoDataFrame(effet.sites.assign(scenario=nom), geometry=sites.geometry.to_numpy(), crs=4326)
    if format_sortie == "geojson":
        return table.to_json(drop_id=True, ensure_ascii=False).encode("utf-8")
    return pd.DataFrame(table.drop(columns="geometry")).to_csv(sep=";", index=False, decimal=",").encode("utf-8-sig")


def resumer_scenarios(scenarios: list[tuple[str, gpd.GeoDataFrame]], operations: pd.DataFrame, zones: pd.DataFrame,
                      financements: pd.DataFrame | None, parametres, avec_couts: bool) -> pd.DataFrame:
    """Chiffres de tête de scénarios sans les modèles sur grille (vue inter-territoires) : sites, surface
    désimperméabilisée (m²) et volume retenu (m³/an) par les formules par zone du registre, coût estimé (€, médiane
    du registre du territoire) si ``avec_couts``. Une ligne par scénario."""
    validees = operations[operations["validation"].eq("validee").to_numpy(bool)]
    couts = None
    if avec_couts:
        indicateurs = calculer_indicateurs_operations(validees, zones, financements, parametres)
        couts = relever_couts_unitaires(indicateurs, zones[zones["operation_id"].isin(validees["id"]).to_numpy(bool)])
    lignes = []
    for nom, sites in scenarios:
        ligne = {"scenario": nom, "nombre_sites": len(sites), "surface_desimpermeabilisee": 0.0,
                 "volume_infiltre": 0.0, "cout_estime": float("nan")}
        if len(sites):
            operations_sites, zones_sites = _operations_sites(sites)
            par_site = calculer_indicateurs_operations(operations_sites, zones_sites, None, parametres)
            ligne.update(surface_desimpermeabilisee=float(par_site["surface_desimpermeabilisee"].sum()),
                         volume_infiltre=float(par_site["volume_infiltre"].sum()))
            if couts is not None:
                estimes = estimer_couts_sites(sites.assign(surface_m2=par_site["surface_zones"].to_numpy(float)), couts,
                                              int(lire_parametres_scenarios()["effectif_min_cout"]))
                ligne["cout_estime"] = float(estimes["cout_estime"].sum(min_count=1))
        lignes.append(ligne)
    return pd.DataFrame(lignes, columns=["scenario", "nombre_sites", "surface_desimpermeabilisee", "volume_infiltre",
                                         "cout_estime"])


def relever_parcelles_disparues(sites: pd.DataFrame, dossier: Path | None = None) -> list[tuple[int, str]]:
    """(site, parcelle) des sites tirés d'une parcelle qui n'est plus dans le cadastre importé (réimport) : le site
    garde sa géométrie, mais sa référence est à revoir."""
    dossier = Path(dossier) if dossier else dossier_donnees()
    disparues = []
    avec_parcelle = sites[sites["parcelle_id"].notna().to_numpy(bool)]
    for code, groupe in avec_parcelle.groupby("code_insee"):
        connues = set(lire_couche_communes("parcelles", dossier, [str(code)])["id"].astype(str))
        disparues += [(int(site), str(parcelle)) for site, parcelle in zip(groupe["site_id"], groupe["parcelle_id"])
                      if str(parcelle) not in connues]
    return sorted(disparues)
