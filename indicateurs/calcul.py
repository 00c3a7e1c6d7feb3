"""Points d'entrée des indicateurs vectoriels : par opération, par commune (+ bassin) et par année.

L'application et la CLI appellent :

- :func:`calculer_indicateurs_operations` : une ligne par opération retenue ;
- :func:`calculer_indicateurs_communes` : une ligne par commune + une ligne ``bassin`` ;
- :func:`calculer_indicateurs_annees` : une ligne par territoire (communes + ``bassin``) et par année ;
- :func:`indicateurs.finances.calculer_aides_par_financeur` : aides par financeur.

Les noms de colonnes sont les codes du catalogue (``indicateurs/catalogue.csv``) ; les colonnes
d'identification (``operation_id``, ``territoire``, ``nom``, ``annee``…) sont listées dans
:data:`indicateurs.catalogue.COLONNES_IDENTIFIANTS`. Les indicateurs maillés (chaleur, eau sur grille)
viennent d'autres modules. Tous les calculs sont vectoriels (groupby) ; les entrées ne sont pas
modifiées ; une sélection vide donne des sommes nulles et des rapports NaN.

Par commune, par année et par groupe, la table des opérations peut être remplacée par un
:class:`indicateurs.agregats.RegistreAgrege` (sommes calculées par la base, ``zones`` et ``financements`` à
``None``) : mêmes chiffres, sans lire chaque opération.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicateurs.agregats import RegistreAgrege, calculer_grains
from indicateurs.catalogue import codes_geometriques, codes_niveau, codes_reserves
from indicateurs.communs import (
    CODE_BASSIN,
    LIBELLE_BASSIN,
    Filtres,
    ecarter_zones_approximatives,
    identifiants_operations,
    lire_parametres_defaut,
    masque_filtres,
    preparer_zones,
)
from donnees.nomenclatures import STATUTS
from indicateurs.eau import ajouter_volume_stockage, calculer_volume_abattu, calculer_volume_retenu
from indicateurs.finances import AUXILIAIRES_COUT_CONNU, calculer_ratios_financiers, preparer_colonnes_financieres
from indicateurs.surfaces import (
    calculer_part_desimpermeabilisee,
    calculer_surface_active_deconnectee,
    calculer_surface_communes,
    calculer_surface_desimpermeabilisee,
    calculer_taux_impermeabilisation,
    signaler_ecart_surface,
)
from indicateurs.trajectoire import (
    COLONNES_TRAJECTOIRE,
    STATUT_REALISE,
    calculer_ratio_compensation,
    calculer_trajectoire,
    evaluer_ratio_sdage,
    sommer_nouvelles_surfaces,
)

IDENTIFIANTS_OPERATION = ["operation_id", "code_insee", "nom", "type_site", "statut", "validation", "annee"]
# Colonnes sommables d'une table d'opérations (agrégées par commune, bassin, année).
ADDITIVES = ["nombre_operations", "surface_zones", "surface_desimpermeabilisee", "surface_active_deconnectee",
             "volume_infiltre", "volume_abattu_pluie_reference", "volume_stockage", "cout_total_ht",
             "montant_aides", "nombre_operations_cout_connu", "nombre_ecarts_signales",
             *AUXILIAIRES_COUT_CONNU.values()]
COLONNES_OPERATIONS = [*IDENTIFIANTS_OPERATION, "surface_zones", "surface_desimpermeabilisee",
                       "surface_active_deconnectee", "volume_infiltre", "volume_abattu_pluie_reference",
                       "volume_stockage", "cout_total_ht", "montant_aides", "reste_a_charge", "taux_aide",
                       "cout_par_m2", "cout_par_m3_infiltre", "surface_declaree", "ecart_surface_relatif",
                       "ecart_surface_signale"]
# Indicateurs d'opération tirés de la géométrie des zones (inconnus pour une localisation approximative).
COLONNES_GEOMETRIQUES = codes_geometriques()
COLONNES_SDAGE = ["nouvelles_surfaces_impermeabilisees", "ratio_compensation_sdage", "ratio_sdage_atteint"]
# Indicateurs réservés (coûts et aides) agrégés par commune et par année, dans l'ordre du catalogue.
COLONNES_FINANCIERES = [c for c in codes_reserves() if c in set(codes_niveau("annee"))]
COLONNES_FLUX = ["nombre_operations", "surface_zones", "surface_desimpermeabilisee", "surface_active_deconnectee",
                 "volume_infiltre", "volume_abattu_pluie_reference", "volume_stockage", "nombre_ecarts_signales",
                 *COLONNES_FINANCIERES]
COLONNES_COMMUNES = ["territoire", "nom", *COLONNES_FLUX[:4], "surface_commune", "surface_impermeable",
                     "taux_impermeabilisation", "part_desimpermeabilisee", *COLONNES_FLUX[4:], *COLONNES_SDAGE,
                     *COLONNES_TRAJECTOIRE]
COLONNES_ANNEES = ["territoire", "nom", "annee", *COLONNES_FLUX, *COLONNES_SDAGE, *COLONNES_TRAJECTOIRE]


# ------------------------------------------------------------------------------------ opérations


def _table_registre(operations) -> pd.DataFrame:
    """Table qui porte ``annee``, ``statut``… des opérations : la table elle-même, ou les grains d'un
    :class:`~indicateurs.agregats.RegistreAgrege`."""
    return operations.operations if isinstance(operations, RegistreAgrege) else operations


def _table_operations(operations, zones: pd.DataFrame | None, financements: pd.DataFrame | None,
                      parametres: dict, filtres: Filtres | None, revetements: pd.DataFrame | None) -> pd.DataFrame:
    """Une ligne par opération retenue (par grain si ``operations`` est un
    :class:`~indicateurs.agregats.RegistreAgrege` : agrégats lus dans la base, ``zones`` et ``financements``
    inutilisés) : indicateurs additifs et colonnes auxiliaires."""
    if isinstance(operations, RegistreAgrege):
        return calculer_grains(operations, parametres, filtres)
    retenues = operations.loc[masque_filtres(operations, filtres)]
    ids = identifiants_operations(retenues).to_numpy()
    zp = preparer_zones(ecarter_zones_approximatives(zones, retenues), retenues, revetements)
    par_zone = pd.DataFrame({
        "operation_id": zp["operation_id"].to_numpy(),
        "surface_zones": zp["surface_m2"].to_numpy(float),
        "surface_desimpermeabilisee": calculer_surface_desimpermeabilisee(zp).to_numpy(),
        "surface_active_deconnectee": calculer_surface_active_deconnectee(zp).to_numpy(),
        "volume_infiltre": calculer_volume_retenu(zp, parametres["pluie_annuelle_mm"]).to_numpy(),
        "volume_abattu_pluie_reference": calculer_volume_abattu(zp, parametres["pluie_reference_mm"]).to_numpy(),
    })
    sommes = par_zone.groupby("operation_id").sum().reindex(ids, fill_value=0.0)
    table = pd.DataFrame({
        "operation_id": ids,
        "code_insee": retenues["code_insee"].astype(str).to_numpy(),
        "nom": (retenues["nom"].astype(str).to_numpy() if "nom" in retenues.columns
                else np.full(len(retenues), "", dtype=object)),
        "type_site": retenues["type_site"].astype(str).to_numpy(),
        "statut": retenues["statut"].astype(str).to_numpy(),
        "validation": retenues["validation"].astype(str).to_numpy(),
        "annee": retenues["annee"].astype("Int64").array,
        "nombre_operations": np.ones(len(retenues), dtype=np.int64),
    })
    for colonne in sommes.columns:
        table[colonne] = sommes[colonne].to_numpy(float)
    stockage = (retenues["volume_stockage_m3"].to_numpy(float) if "volume_stockage_m3" in retenues.columns
                else np.full(len(retenues), np.nan))
    table["volume_stockage"] = stockage
    table["volume_abattu_pluie_reference"] = ajouter_volume_stockage(table["volume_abattu_pluie_reference"],
                                                                     stockage)
    table["cout_total_ht"] = (retenues["cout_ht_eur"].to_numpy(float) if "cout_ht_eur" in retenues.columns
                              else np.full(len(retenues), np.nan))
    if financements is not None:
        aides = financements.groupby("operation_id")["montant_eur"].sum()
        table["montant_aides"] = aides.reindex(ids, fill_value=0.0).to_numpy(float)
    elif "montant_aides_eur" in retenues.columns:
        table["montant_aides"] = retenues["montant_aides_eur"].fillna(0.0).to_numpy(float)
    else:
        table["montant_aides"] = 0.0
    declaree = (retenues["surface_declaree_m2"].to_numpy(float) if "surface_declaree_m2" in retenues.columns
                else np.full(len(retenues), np.nan))
    table["surface_declaree"] = declaree
    ecart, signale = signaler_ecart_surface(declaree, table["surface_zones"].to_numpy(float),
                                            parametres["ecart_surface_declaree"])
    if "localisation_approximative" in retenues.columns:  # rien de dessiné : pas d'écart à signaler
        approximatives = retenues["localisation_approximative"].astype("boolean").fillna(False).to_numpy(bool)
        ecart, signale = np.where(approximatives, np.nan, ecart), signale & ~approximatives
    table["ecart_surface_relatif"] = ecart
    table["ecart_surface_signale"] = signale
    table["nombre_ecarts_signales"] = signale.astype(np.int64)
    return preparer_colonnes_financieres(table)


def calculer_indicateurs_operations(operations: pd.DataFrame, zones: pd.DataFrame,
                                    financements: pd.DataFrame | None = None, parametres=None,
                                    filtres: Filtres | None = None,
                                    revetements: pd.DataFrame | None = None) -> pd.DataFrame:
    """Indicateurs par opération (une ligne par opération retenue par ``filtres``).

    Entrées : tables du magasin (``lire_operations``, ``lire_zones``, ``lire_financements`` ; sans
    financements, la colonne ``montant_aides_eur`` des opérations est utilisée), paramètres de modèle
    (:func:`indicateurs.parametres.lire_parametres`, défaut ``modele.csv``), table des revêtements
    (défaut ``revetements.csv``). Surfaces recalculées en Lambert-93 depuis la géométrie des zones.
    Colonnes : :data:`COLONNES_OPERATIONS` (``volume_stockage`` et ``surface_declaree`` : NaN si non
    déclarés ; rapports financiers NaN si le coût est inconnu).
    """
    parametres = lire_parametres_defaut(parametres)
    table = calculer_ratios_financiers(_table_operations(operations, zones, financements, parametres, filtres,
                                                         revetements))
    table = table[COLONNES_OPERATIONS].reset_index(drop=True)
    if "localisation_approximative" in operations.columns:
        # Sans géométrie connue (placée au centre de la commune), surfaces et volumes sont inconnus : NaN, pas 0.
        approximatives = operations.set_index("id")["localisation_approximative"].fillna(False).astype(bool)
        masque = table["operation_id"].map(approximatives).fillna(False).astype(bool).to_numpy()
        table.loc[masque, COLONNES_GEOMETRIQUES] = np.nan
    return table


# -------------------------------------------------------------------------------------- agrégats


def determiner_annee_reference(operations: pd.DataFrame, filtres: Filtres | None,
                               annee_reference: int | None = None) -> int | None:
    """Année de référence de la trajectoire : celle donnée, sinon la dernière année des filtres, sinon la
    dernière année de fin d'une opération réalisée (toutes opérations confondues) ; ``None`` si aucune."""
    if annee_reference is not None:
        return int(annee_reference)
    if filtres is not None and filtres.annees:
        return int(max(filtres.annees))
    operations = _table_registre(operations)
    realisees = operations.loc[operations["statut"].astype(str).eq(STATUT_REALISE).to_numpy(bool), "annee"].dropna()
    return int(realisees.max()) if len(realisees) else None


def _codes_communes(communes: pd.DataFrame, filtres: Filtres | None) -> tuple[list[str], bool]:
    """Codes INSEE retenus et indicateur « la sélection couvre toutes les communes »."""
    tous = [str(c) for c in communes["code_insee"]]
    if filtres is None or filtres.communes is None:
        return tous, True
    retenus = [c for c in tous if c in set(filtres.communes)]
    return retenus, set(retenus) == set(tous)


def _agreger(base: pd.DataFrame, cles: list[str], index: pd.Index) -> pd.DataFrame:
    """Somme des colonnes additives par ``cles``, réindexée sur ``index`` (absents → 0)."""
    return base.groupby(cles)[ADDITIVES].sum().reindex(index, fill_value=0)


def _ajouter_sdage(table: pd.DataFrame, nouvelles: pd.Series, parametres: dict) -> None:
    table["nouvelles_surfaces_impermeabilisees"] = nouvelles
    table["ratio_compensation_sdage"] = calculer_ratio_compensation(table["surface_desimpermeabilisee"],
                                                                    table["nouvelles_surfaces_impermeabilisees"])
    table["ratio_sdage_atteint"] = evaluer_ratio_sdage(table["ratio_compensation_sdage"],
                                                       parametres["ratio_sdage_cible"])


def calculer_indicateurs_communes(operations: pd.DataFrame, zones: pd.DataFrame,
                                  financements: pd.DataFrame | None, communes: pd.DataFrame,
                                  surfaces_impermeables: pd.DataFrame | None = None,
                                  objectifs: pd.DataFrame | None = None,
                                  nouvelles_surfaces: pd.DataFrame | None = None, parametres=None,
                                  filtres: Filtres | None = None, revetements: pd.DataFrame | None = None,
                                  annee_reference: int | None = None) -> pd.DataFrame:
    """Indicateurs par commune, plus une ligne ``bassin`` (ensemble des communes retenues).

    ``communes`` : couche des communes (``code_insee``, ``nom``, géométrie pour la surface) ;
    ``surfaces_impermeables`` : résultat de
    :func:`indicateurs.surfaces.calculer_surface_impermeable_communes` (calculé une fois par fichier
    d'occupation) ; ``objectifs`` et ``nouvelles_surfaces`` : couches du référentiel.

    - flux (surfaces, volumes, coûts) : opérations retenues par ``filtres``, années comprises ;
    - ratio SDAGE : surface désimperméabilisée de la sélection / surfaces nouvellement imperméabilisées
      sur les années des filtres (toutes les années disponibles sans filtre d'année) ;
    - trajectoire : valeurs à l'année de référence (:func:`determiner_annee_reference`, rangée dans
      ``table.attrs["annee_reference"]``), cumulées depuis la première opération, filtres hors années.

    Colonnes : :data:`COLONNES_COMMUNES`. Surface imperméable inconnue → NaN pour les taux.
    """
    parametres = lire_parametres_defaut(parametres)
    codes, complete = _codes_communes(communes, filtres)
    territoires = pd.Index([*codes, CODE_BASSIN], name="territoire")
    base = _table_operations(operations, zones, financements, parametres, filtres, revetements)
    base = base[base["code_insee"].isin(codes)]
    table = _agreger(base, ["code_insee"], territoires)
    table.loc[CODE_BASSIN] = table.loc[codes].sum(axis=0) if codes else 0
    noms = dict(zip(communes["code_insee"].astype(str), communes["nom"].astype(str)))
    table.insert(0, "nom", [noms.get(c, LIBELLE_BASSIN if c == CODE_BASSIN else c) for c in territoires])

    surface_commune = calculer_surface_communes(communes).reindex(codes)
    impermeable = (surfaces_impermeables.set_index(surfaces_impermeables["code_insee"].astype(str))
                   ["surface_impermeable"].reindex(codes) if surfaces_impermeables is not None
                   else pd.Series(np.nan, index=codes))
    table["surface_commune"] = [*surface_commune.to_numpy(float), surface_commune.sum(skipna=False)]
    table["surface_impermeable"] = [*impermeable.to_numpy(float), impermeable.sum(skipna=False)]
    table["taux_impermeabilisation"] = calculer_taux_impermeabilisation(table["surface_impermeable"],
                                                                        table["surface_commune"])
    table["part_desimpermeabilisee"] = calculer_part_desimpermeabilisee(table["surface_desimpermeabilisee"],
                                                                        table["surface_impermeable"])

    nouvelles = sommer_nouvelles_surfaces(nouvelles_surfaces, filtres.annees if filtres else None)
    nouvelles = nouvelles.reindex(codes, fill_value=0.0) if nouvelles_surfaces is not None else \
        pd.Series(np.nan, index=codes)
    _ajouter_sdage(table, [*nouvelles.to_numpy(float), nouvelles.sum(skipna=False)], parametres)

    reference = determiner_annee_reference(operations, filtres, annee_reference)
    if reference is not None:
        trajectoire = _trajectoire(operations, zones, financements, parametres, filtres, revetements, objectifs,
                                   codes, complete, [reference], reference)
        trajectoire = trajectoire.set_index("territoire").reindex(territoires)
        for colonne in COLONNES_TRAJECTOIRE:
            table[colonne] = trajectoire[colonne].to_numpy(float)
    else:
        for colonne in COLONNES_TRAJECTOIRE:
            table[colonne] = np.nan
    table = calculer_ratios_financiers(table).reset_index()
    table["territoire"] = table["territoire"].astype(str)
    table = table[COLONNES_COMMUNES]
    table.attrs["annee_reference"] = reference
    return table


def _trajectoire(operations, zones, financements, parametres, filtres, revetements, objectifs, codes, complete,
                 annees, reference) -> pd.DataFrame:
    """Trajectoire sur les opérations retenues par les filtres hors années ; la courbe « réalisé » ne compte
    que les opérations réalisées (si le filtre de statut les retient) et la projection y ajoute toujours les
    opérations en travaux et programmées, même quand le filtre ne retient que les réalisées (défaut)."""
    sans_annees = filtres.sans("annees") if filtres is not None else None
    if sans_annees is not None and sans_annees.statuts is not None:
        projetes = tuple(s for s in STATUTS if s != STATUT_REALISE)
        sans_annees = Filtres(**{**sans_annees.__dict__, "statuts": (*sans_annees.statuts, *projetes)})
    base = _table_operations(operations, zones, financements, parametres, sans_annees, revetements)
    return calculer_trajectoire(base, objectifs, codes, annees, reference, complete)


def calculer_indicateurs_annees(operations: pd.DataFrame, zones: pd.DataFrame,
                                financements: pd.DataFrame | None, communes: pd.DataFrame,
                                objectifs: pd.DataFrame | None = None,
                                nouvelles_surfaces: pd.DataFrame | None = None, parametres=None,
                                filtres: Filtres | None = None, revetements: pd.DataFrame | None = None,
                                annee_reference: int | None = None) -> pd.DataFrame:
    """Indicateurs par territoire (communes retenues + ``bassin``) et par année (tableau long).

    Années : de la première à la dernière année connue (opérations, objectifs, surfaces nouvellement
    imperméabilisées), restreintes à ``filtres.annees`` s'il est donné. Les flux sont ceux des opérations
    de l'année (année de fin des travaux, réelle ou prévue) ; le ratio SDAGE est celui de l'année ; la
    trajectoire cumule depuis la première opération (voir :func:`indicateurs.trajectoire.calculer_trajectoire`).
    Colonnes : :data:`COLONNES_ANNEES`.
    """
    parametres = lire_parametres_defaut(parametres)
    codes, complete = _codes_communes(communes, filtres)
    sans_annees = filtres.sans("annees") if filtres is not None else None
    retenues = _table_registre(operations).loc[masque_filtres(_table_registre(operations), sans_annees)]
    connues = [retenues["annee"].dropna().astype(int)]
    for couche in (objectifs, nouvelles_surfaces):
        if couche is not None and len(couche):
            connues.append(couche["annee"].astype(int))
    toutes = pd.concat(connues) if connues else pd.Series(dtype=int)
    annees = list(range(int(toutes.min()), int(toutes.max()) + 1)) if len(toutes) else []
    if filtres is not None and filtres.annees is not None:
        annees = [a for a in annees if a in set(filtres.annees)]
    index = pd.MultiIndex.from_product([[*codes, CODE_BASSIN], annees], names=["territoire", "annee"])

    base = _table_operations(operations, zones, financements, parametres, filtres, revetements)
    base = base[base["code_insee"].isin(codes) & base["annee"].notna()]
    base = base.assign(annee=base["annee"].astype(int))
    table = _agreger(base, ["code_insee", "annee"], index)
    if len(annees):
        table.loc[CODE_BASSIN] = (table.drop(index=CODE_BASSIN, level="territoire").groupby(level="annee").sum()
                                  .reindex(annees).to_numpy())
    if nouvelles_surfaces is not None and len(nouvelles_surfaces):  # sinon inconnues : ratio SDAGE vide
        nouvelles = sommer_nouvelles_surfaces(nouvelles_surfaces, par_annee=True)
        nouvelles = nouvelles.rename_axis(["territoire", "annee"])
        bassin = nouvelles[nouvelles.index.get_level_values(0).isin(codes)].groupby(level="annee").sum()
        bassin.index = pd.MultiIndex.from_product([[CODE_BASSIN], bassin.index], names=["territoire", "annee"])
        nouvelles = pd.concat([nouvelles, bassin]).reindex(index, fill_value=0.0)
    else:
        nouvelles = pd.Series(np.nan, index=index)
    _ajouter_sdage(table, nouvelles.to_numpy(float), parametres)

    reference = determiner_annee_reference(operations, filtres, annee_reference)
    trajectoire = _trajectoire(operations, zones, financements, parametres, filtres, revetements, objectifs,
                               codes, complete, annees, reference)
    trajectoire = trajectoire.assign(annee=trajectoire["annee"].astype(int)).set_index(["territoire", "annee"])
    trajectoire = trajectoire.reindex(index)
    for colonne in COLONNES_TRAJECTOIRE:
        table[colonne] = trajectoire[colonne].to_numpy(float)
    table = calculer_ratios_financiers(table).reset_index()
    noms = dict(zip(communes["code_insee"].astype(str), communes["nom"].astype(str)))
    noms[CODE_BASSIN] = LIBELLE_BASSIN
    table["territoire"] = table["territoire"].astype(str)
    table["nom"] = table["territoire"].map(noms)
    table["annee"] = table["annee"].astype("Int64")
    table = table[COLONNES_ANNEES]
    table.attrs["annee_reference"] = reference
    return table


COLONNES_GROUPES = ["nombre_operations", "surface_zones", "surface_desimpermeabilisee", "surface_active_deconnectee",
                    "volume_infiltre", "volume_abattu_pluie_reference", *COLONNES_FINANCIERES]


def calculer_indicateurs_groupes(operations: pd.DataFrame, zones: pd.DataFrame, financements: pd.DataFrame | None,
                                 cle: str, parametres=None, filtres: Filtres | None = None,
                                 revetements: pd.DataFrame | None = None) -> pd.DataFrame:
    """Indicateurs des opérations retenues, regroupées par ``cle`` (``type_site``, ``statut``, ``annee``…).

    Sommes des grandeurs additives, puis rapports financiers recalculés sur les sommes (et non moyennés).
    Une ligne par valeur de ``cle`` présente ; colonnes : ``cle`` puis :data:`COLONNES_GROUPES`.
    """
    parametres = lire_parametres_defaut(parametres)
    base = _table_operations(operations, zones, financements, parametres, filtres, revetements)
    if base.empty:
        return pd.DataFrame({cle: pd.Series(dtype=str), **{c: pd.Series(dtype=float) for c in COLONNES_GROUPES}})
    table = calculer_ratios_financiers(base.groupby(cle)[ADDITIVES].sum()).reset_index()
    return table[[cle, *COLONNES_GROUPES]]


SCENARIO_REALISE = "realisees"
SCENARIO_PROGRAMME = "realisees_programmees"
COLONNES_GRILLE = ["t_air_moyenne", "anomalie_chaleur", "surface_ilot_chaleur", "delta_t_operations",
                   "delta_t_programmees", "volume_retenu_grille", "volume_ruissele_grille", "volume_percole_grille",
                   "delta_volume_retenu_grille"]


def joindre_indicateurs_grille(table_communes: pd.DataFrame, chaleur_communes: pd.DataFrame | None,
                               eau_communes: pd.DataFrame | None) -> pd.DataFrame:
    """Ajoute aux indicateurs par commune ceux des modèles sur grille (chaleur et eau), scénario réalisé.

    ``chaleur_communes`` / ``eau_communes`` : tables par commune et scénario de
    :func:`indicateurs.modeles.calculer_modeles_territoire`. Ligne ``bassin`` : températures et écarts moyennés
    en pondérant par la surface urbaine de chaque commune (moyenne sur toutes les cellules urbaines),
    surfaces et volumes sommés. Les modèles portent sur toutes les opérations (filtres non appliqués).
    Modèles absents → colonnes NaN. Renvoie une copie.
    """
    table = table_communes.copy()
    for colonne in COLONNES_GRILLE:
        table[colonne] = np.nan
    codes = table["territoire"].astype(str)
    communes = codes.ne(CODE_BASSIN).to_numpy()
    bassin = ~communes
    if chaleur_communes is not None and len(chaleur_communes):
        chaleur = chaleur_communes.assign(code_insee=chaleur_communes["code_insee"].astype(str))
        realise = chaleur[chaleur["scenario"].eq(SCENARIO_REALISE)].set_index("code_insee")
        programme = chaleur[chaleur["scenario"].eq(SCENARIO_PROGRAMME)].set_index("code_insee")
        retenues = realise.reindex(codes[communes])
        poids = retenues["surface_urbaine_m2"].to_numpy(float)
        colonnes = {"t_air_moyenne": realise["t_air_moyenne_c"], "anomalie_chaleur": realise["anomalie_moyenne_c"],
                    "delta_t_operations": realise["delta_t_air_c"],
                    "delta_t_programmees": programme["delta_t_air_c"]}
        for code, serie in colonnes.items():
            valeurs = serie.reindex(codes[communes]).to_numpy(float)
            table.loc[communes, code] = valeurs
            valides = np.isfinite(valeurs) & np.isfinite(poids) & (poids > 0)
            table.loc[bassin, code] = (float(np.average(valeurs[valides], weights=poids[valides]))
                                       if valides.any() else np.nan)
        ilot = realise["surface_ilot_chaleur_m2"].reindex(codes[communes]).to_numpy(float)
        table.loc[communes, "surface_ilot_chaleur"] = ilot
        table.loc[bassin, "surface_ilot_chaleur"] = np.nansum(ilot)
    if eau_communes is not None and len(eau_communes):
        eau = eau_communes.assign(code_insee=eau_communes["code_insee"].astype(str))
        realise = eau[eau["scenario"].eq(SCENARIO_REALISE)].set_index("code_insee")
        for code, colonne in (("volume_retenu_grille", "volume_retention_m3_an"),
                              ("volume_ruissele_grille", "volume_ruissellement_m3_an"),
                              ("volume_percole_grille", "volume_percolation_m3_an"),
                              ("delta_volume_retenu_grille", "delta_volume_retention_m3_an")):
            valeurs = realise[colonne].reindex(codes[communes]).to_numpy(float)
            table.loc[communes, code] = valeurs
            table.loc[bassin, code] = np.nansum(valeurs)
    return table
