"""Rapports PDF (issue 15, partie 3) : rapport annuel du bassin, rapport d'une commune, rapport d'un financeur.

Mêmes nombres que les pages, pour les mêmes filtres et le même utilisateur : agrégats du registre lus avec ses
droits (:func:`services.magasin.lire_agregats`), indicateurs par commune et par année
(:func:`services.indicateurs.assembler_indicateurs_communes`, modèles sur grille compris), opérations visibles
(:func:`donnees.droits.filtrer_operations`). La **version publique** est calculée comme le voit le public
(opérations validées, ni coût, ni aide, ni donnée personnelle) : c'est celle de tout utilisateur qui ne lit pas
les montants du périmètre du rapport, ou celle demandée explicitement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd

from donnees.comptes import VISITEUR, Utilisateur
from donnees.config import dossier_donnees
from donnees.droits import ErreurDroits, filtrer_financements, filtrer_operations, lire_perimetre
from donnees.erreurs import ErreurDonnees
from donnees.format import FUSEAU_AFFICHAGE
from donnees.nomenclatures import STATUTS, lire_types_site
from donnees.referentiel import couche_presente, lire_couche, lire_territoire
from donnees.sources import lire_sources
from indicateurs.calcul import (calculer_indicateurs_annees, calculer_indicateurs_groupes,
                                calculer_indicateurs_operations)
from indicateurs.catalogue import codes_publics, decimales, formater_chiffre, formater_valeur, libelle, titre_axe, unite
from indicateurs.communs import CODE_BASSIN, Filtres
from indicateurs.parametres import lire_parametres
from indicateurs.trajectoire import cible_sdage_pourcent
from services.indicateurs import (
    STATUTS_REALISES,
    assembler_indicateurs_communes,
    calculer_aides,
    decrire_perimetre,
    lire_referentiel_indicateurs,
)
from services.magasin import lire_agregats, lire_registre_modeles, ouvrir_magasin
from vues.cartes import Choroplethe, lire_styles
from vues.figures import COLONNES_TRAJECTOIRE, figure_barres, figure_ratio_sdage, figure_trajectoire
from vues.format import formater_nombre
from vues.rapports import ContenuRapport, Section, construire_carte_svg, figure_en_svg, produire_pdf

GENRES_RAPPORT = {"bassin": "Rapport annuel du bassin", "commune": "Rapport communal",
                  "financeur": "Rapport financeur"}
# Cartes de chiffres, dans l'ordre de la Vue d'ensemble (bassin) et de la page Commune (commune).
CHIFFRES_BASSIN = ["surface_desimpermeabilisee", "nombre_operations", "volume_infiltre", "rafraichissement_emprise",
                   "surface_sortie_ilot", "taux_atteinte_objectif", "ratio_compensation_sdage", "cout_total_ht",
                   "taux_aide"]
CHIFFRES_COMMUNE = ["surface_desimpermeabilisee", "volume_infiltre", "nombre_operations", "rafraichissement_emprise",
                    "ratio_compensation_sdage", "taux_atteinte_objectif", "cout_total_ht", "taux_aide"]
CHIFFRES_ANNEE = ["surface_desimpermeabilisee", "nombre_operations", "volume_infiltre", "cout_total_ht"]
ENTETES_COMMUNES = {"nombre_operations": "Opérations", "surface_desimpermeabilisee": "Surface",
                    "volume_infiltre": "Volume retenu", "ratio_compensation_sdage": "Ratio SDAGE",
                    "taux_atteinte_objectif": "Objectif atteint", "cout_par_m2": "Coût par m²"}
NOMBRE_RETOURS_MAX = 12
LONGUEUR_RETOUR_MAX = 700  # caractères d'un retour d'expérience repris dans le rapport
SOURCE_MODELES = ("Modèles : InVEST Urban Cooling (chaleur) et Urban Stormwater Retention (eau), Natural Capital "
                  "Project (Stanford), licence Apache 2.0 ; paramètres, formules et sources sur la page Méthode de "
                  "l'application.")
# Ligne de commande sans --utilisateur : l'exploitant, qui lit déjà toute la base (rapport complet).
OPERATEUR = Utilisateur(email="", nom="Exploitant (ligne de commande)", role="administrateur")


@dataclass(frozen=True)
class DemandeRapport:
    """Rapport demandé : ``genre`` (bassin, commune, financeur), ``annee`` du rapport (opérations de l'année,
    apport de l'année), ``filtres`` des pages (``None`` : opérations réalisées), ``code_insee`` (rapport communal),
    ``financeur`` (nom, rapport financeur), ``public`` : version publique demandée."""

    genre: str
    annee: int
    filtres: Filtres | None = None
    code_insee: str | None = None
    financeur: str | None = None
    public: bool = False


@dataclass
class DonneesRapport:
    """Ce que le registre donne pour un rapport, calculé avec les droits du lecteur."""

    demande: DemandeRapport
    territoire: dict
    parametres: object
    details: bool  # montants lisibles (version complète)
    filtres: Filtres
    table: pd.DataFrame  # indicateurs par commune + bassin
    table_annee: pd.DataFrame  # même chose, opérations de l'année du rapport
    annees: pd.DataFrame  # par territoire et par année (trajectoire)
    operations: pd.DataFrame  # indicateurs par opération retenue (filtres)
    registre: pd.DataFrame  # opérations visibles (champs du registre, géométrie)
    financements: pd.DataFrame
    zones: gpd.GeoDataFrame
    communes: gpd.GeoDataFrame
    sources: dict


# ------------------------------------------------------------------------------------ demande et droits


def verifier_demande(demande: DemandeRapport, territoire: dict) -> None:
    """Genre connu, année plausible, commune du territoire ; sinon :class:`ErreurDonnees` en français."""
    if demande.genre not in GENRES_RAPPORT:
        raise ErreurDonnees(f"Rapport « {demande.genre} » inconnu (attendus : {', '.join(GENRES_RAPPORT)}).",
                            "rapport", "genre")
    if not isinstance(demande.annee, (int, np.integer)) or not 1990 <= int(demande.annee) <= 2100:
        raise ErreurDonnees(f"Année du rapport « {demande.annee} » invalide : donnez une année entre 1990 et 2100 "
                            "(ex. --annee 2026).", "rapport", "annee")
    if demande.genre == "commune":
        codes = [str(c) for c in territoire["codes_insee"]]
        if str(demande.code_insee) not in codes:
            raise ErreurDonnees(f"Commune « {demande.code_insee} » absente du territoire : donnez le code INSEE d'une "
                                f"de ses {len(codes)} communes (ex. {codes[0]}).", "rapport", "code_insee")
    if demande.genre == "financeur" and not str(demande.financeur or "").strip():
        raise ErreurDonnees("Rapport financeur : donnez le nom du financeur (ex. --financeur « Région Occitanie »).",
                            "rapport", "financeur")


def lire_montants(utilisateur: Utilisateur, demande: DemandeRapport) -> bool:
    """Vrai si le rapport peut montrer coûts et aides : l'utilisateur lit les montants partout (syndicat,
    financeur), ou, pour le rapport de l'une de ses communes, dans celle-ci (référent)."""
    if demande.public:
        return False
    perimetre = lire_perimetre(utilisateur, "lire_details")
    if perimetre is None:
        return True
    return demande.genre == "commune" and str(demande.code_insee) in perimetre


# ------------------------------------------------------------------------------------ lecture


def lire_donnees_rapport(demande: DemandeRapport, utilisateur: Utilisateur, dossier: Path | None = None,
                         modeles=None) -> DonneesRapport:
    """Indicateurs et registre du rapport, lus avec les droits de ``utilisateur`` (ou du public pour la version
    publique). ``modeles`` : modèles sur grille déjà calculés (sinon lus en cache ou calculés)."""
    dossier = Path(dossier) if dossier else dossier_donnees()
    territoire = lire_territoire(dossier)
    verifier_demande(demande, territoire)
    details = lire_montants(utilisateur, demande)
    if demande.genre == "financeur" and not details:
        raise ErreurDroits("Le rapport financeur montre les aides et les coûts : il est réservé au syndicat de bassin "
                           "et aux financeurs. Demandez le rapport du bassin (version publique).")
    lecteur = utilisateur if details else VISITEUR
    parametres = lire_parametres(territoire.get("parametres"))
    filtres = demande.filtres or Filtres(statuts=STATUTS_REALISES)
    with ouvrir_magasin(dossier) as magasin:
        magasin.creer_tables()
        agregats = lire_agregats(magasin, lecteur, parametres)
        registre_modeles = lire_registre_modeles(magasin, dossier)
        operations = filtrer_operations(lecteur, magasin.lire_operations())
        zones = magasin.lire_zones()
        financements = filtrer_financements(lecteur, magasin.lire_financements(), operations)
    zones = zones[zones["operation_id"].isin(operations["operation_id"]).to_numpy(bool)]
    referentiel = lire_referentiel_indicateurs(dossier)
    if modeles is None and couche_presente("occupation", dossier):
        from services.modeles import calculer_modeles_territoire

        modeles = calculer_modeles_territoire(dossier, registre=registre_modeles)
    table = assembler_indicateurs_communes(agregats, None, None, referentiel, parametres, filtres, modeles,
                                           registre_modeles=registre_modeles, avec_ratios=True)
    filtres_annee = _filtres_annee(filtres, demande.annee)
    table_annee = assembler_indicateurs_communes(agregats, None, None, referentiel, parametres, filtres_annee, None,
                                                 avec_grille=False)
    annees = calculer_indicateurs_annees(agregats, None, None, referentiel.communes, referentiel.objectifs,
                                         referentiel.nouvelles_surfaces, parametres, filtres)
    par_operation = calculer_indicateurs_operations(operations, zones, financements, parametres, filtres)
    communes = (lire_couche("communes_affichage", dossier) if couche_presente("communes_affichage", dossier)
                else lire_couche("communes", dossier))
    return DonneesRapport(demande, territoire, parametres, details, filtres, table, table_annee, annees, par_operation,
                          operations, financements, zones, communes, lire_sources(dossier))


def _filtres_annee(filtres: Filtres, annee: int) -> Filtres:
    """Filtres restreints aux opérations dont les travaux finissent l'année ``annee`` (vide si hors des filtres)."""
    annees = (int(annee),) if not filtres.annees or int(annee) in filtres.annees else ()
    return replace(filtres, annees=annees)


# ------------------------------------------------------------------------------------ mise en forme


def _visibles(codes: list[str], details: bool) -> list[str]:
    publics = set(codes_publics())
    return [c for c in codes if details or c in publics]


def _cartes_chiffres(ligne: pd.Series, codes: list[str], parametres, comparaison: pd.Series | None = None
                     ) -> list[tuple[str, str, str | None]]:
    cartes = []
    for code in codes:
        precision = None
        if code == "rafraichissement_emprise":
            precision = "estimation par site, sur l'emprise des opérations (pas une moyenne du territoire)"
        elif code == "ratio_compensation_sdage":
            precision = f"cible : {formater_valeur(code, cible_sdage_pourcent(parametres['ratio_sdage_cible']))}"
        elif comparaison is not None:
            precision = f"bassin : {formater_valeur(code, comparaison[code])}"
        cartes.append((libelle(code), formater_chiffre(code, ligne[code]), precision))
    return cartes


def _nommer_filtres(donnees: DonneesRapport, lieu: str) -> str:
    noms_types = lire_types_site()
    return decrire_perimetre(lieu, donnees.filtres, not donnees.details, noms_types)


def _texte_court(texte) -> str:
    texte = " ".join(str(texte or "").split())
    return texte if len(texte) <= LONGUEUR_RETOUR_MAX else texte[:LONGUEUR_RETOUR_MAX].rsplit(" ", 1)[0] + " […]"


def _tableau_operations(par_operation: pd.DataFrame, registre: pd.DataFrame, details: bool,
                        noms_communes: dict, avec_annee: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """Tableau des opérations (textes mis en forme) : nom, commune, type, statut, fin des travaux, m², m³ et, en
    version complète, coût et aides."""
    types = lire_types_site()
    registre = registre.set_index("id")
    lignes = []
    for ligne in par_operation.sort_values(["code_insee", "surface_desimpermeabilisee"],
                                           ascending=[True, False]).itertuples(index=False):
        fiche = registre.loc[ligne.operation_id] if ligne.operation_id in registre.index else None
        texte = {"Opération": str(fiche["nom"]) if fiche is not None else str(ligne.operation_id),
                 "Commune": noms_communes.get(str(ligne.code_insee), str(ligne.code_insee)),
                 "Type": types.get(getattr(ligne, "type_site", ""), getattr(ligne, "type_site", "")),
                 "Statut": STATUTS.get(getattr(ligne, "statut", ""), ""),
                 "Fin des travaux": "" if pd.isna(getattr(ligne, "annee", None)) else str(int(ligne.annee)),
                 "Surface": formater_chiffre("surface_desimpermeabilisee", ligne.surface_desimpermeabilisee),
                 "Volume retenu": formater_chiffre("volume_infiltre", ligne.volume_infiltre)}
        if not avec_annee:
            del texte["Fin des travaux"]
        if details:
            texte["Coût HT"] = formater_chiffre("cout_total_ht", ligne.cout_total_ht)
            texte["Aides"] = formater_chiffre("montant_aides", ligne.montant_aides)
        lignes.append(texte)
    nombres = ["Fin des travaux", "Surface", "Volume retenu", "Coût HT", "Aides"]
    return pd.DataFrame(lignes), nombres


def _retours(par_operation: pd.DataFrame, registre: pd.DataFrame, noms_communes: dict) -> list[tuple[str, str]]:
    """Retours d'expérience des opérations retenues (les plus grandes d'abord), texte abrégé."""
    if "retour_experience" not in registre.columns:
        return []
    fiches = registre.set_index("id")
    retours = []
    for ligne in par_operation.sort_values("surface_desimpermeabilisee", ascending=False).itertuples(index=False):
        if ligne.operation_id not in fiches.index:
            continue
        texte = fiches.at[ligne.operation_id, "retour_experience"]
        if texte is None or (isinstance(texte, float) and np.isnan(texte)) or not str(texte).strip():
            continue
        commune = noms_communes.get(str(ligne.code_insee), str(ligne.code_insee))
        retours.append((f"{fiches.at[ligne.operation_id, 'nom']} ({commune})", _texte_court(texte)))
        if len(retours) >= NOMBRE_RETOURS_MAX:
            break
    return retours


def _points_operations(registre: pd.DataFrame, zones: gpd.GeoDataFrame, identifiants) -> gpd.GeoDataFrame:
    """Un point par opération localisée (centre de ses zones), coloré par type de site."""
    couleurs = lire_styles()["types_site"]
    zones = zones[zones["operation_id"].isin(list(identifiants)).to_numpy(bool)]
    if zones.empty:
        return gpd.GeoDataFrame({"operation_id": [], "couleur": []}, geometry=[], crs="EPSG:4326")
    types = registre.set_index("id")["type_site"]
    approximatives = set(registre.loc[registre.get("localisation_approximative", pd.Series(False, index=registre.index))
                                      .fillna(False).astype(bool), "id"])
    zones = zones[~zones["operation_id"].isin(approximatives).to_numpy(bool)]
    unies = zones.dissolve(by="operation_id")
    centres = unies.to_crs(2154).representative_point().to_crs(4326)
    return gpd.GeoDataFrame({"operation_id": unies.index.to_numpy(),
                             "couleur": [couleurs.get(types.get(i), "#636363") for i in unies.index]},
                            geometry=centres.values, crs="EPSG:4326")


def _legende_types(registre: pd.DataFrame, identifiants) -> list[tuple[str, str]]:
    couleurs = lire_styles()["types_site"]
    noms = lire_types_site()
    presents = registre[registre["id"].isin(list(identifiants))]["type_site"].dropna().unique()
    return [(noms.get(t, t), couleurs.get(t, "#636363")) for t in noms if t in set(presents)]


def _sources(donnees: DonneesRapport) -> list[str]:
    lignes = []
    for fiche in donnees.sources.values():
        texte = fiche.get("attribution") or fiche.get("source") or fiche.get("couche")
        licence = fiche.get("licence")
        millesime = fiche.get("millesime")
        lignes.append(f"{fiche.get('libelle') or fiche.get('couche')} : {texte}"
                      + (f", millésime {millesime}" if millesime else "") + (f" — {licence}" if licence else ""))
    lignes.append("Registre des opérations : saisies des communes et du syndicat de bassin dans Désimper"
                  + (", opérations validées par le syndicat seulement (version publique)." if not donnees.details
                     else "."))
    lignes.append(SOURCE_MODELES)
    lignes.append("Désimper est un logiciel libre (licence EUPL 1.2). Les chiffres de ce rapport sont ceux des pages "
                  "de l'application pour les mêmes filtres, à la date du rapport.")
    return lignes


def _couverture(donnees: DonneesRapport, lieu: str, produit_le: datetime) -> list[tuple[str, str]]:
    demande = donnees.demande
    lignes = [("Année du rapport", str(demande.annee)),
              ("Établi le", produit_le.strftime("%d/%m/%Y à %H:%M") + " (heure de Paris)"),
              ("Version", "complète (coûts et aides compris), diffusion restreinte" if donnees.details else
               "publique : opérations validées, sans coût, aide ni donnée personnelle"),
              ("Filtres en vigueur", _nommer_filtres(donnees, lieu))]
    if demande.genre == "financeur":
        lignes.insert(1, ("Financeur", str(demande.financeur)))
    return lignes


def _avertissements(donnees: DonneesRapport) -> list[str]:
    textes = []
    if donnees.territoire.get("demo"):
        textes.append("Démonstration : contours réels des communes (IGN ADMIN EXPRESS) ; parcelles, occupation du sol "
                      "et opérations synthétiques, qui ne correspondent pas au terrain. Ne pas citer ces chiffres.")
    statuts = donnees.filtres.statuts
    if statuts is None or set(statuts) - set(STATUTS_REALISES):
        textes.append("Les filtres comptent des opérations en travaux ou programmées : une partie des chiffres est "
                      "une projection, pas un résultat.")
    return textes


# ------------------------------------------------------------------------------------ sections


def _section_trajectoire(donnees: DonneesRapport, territoire: str, lieu: str) -> Section:
    courbe = donnees.annees[donnees.annees["territoire"] == territoire]
    reference = donnees.table.attrs.get("annee_reference")
    section = Section("Trajectoire et objectifs")
    if courbe.empty or courbe["surface_cumulee_projetee"].fillna(0).eq(0).all():
        section.textes.append("Aucune surface désimperméabilisée dans la sélection : pas de trajectoire à tracer.")
        return section
    ligne = donnees.table.set_index("territoire").loc[territoire]
    annee = courbe[courbe["annee"] == donnees.demande.annee]
    if len(annee):
        cumul, objectif = float(annee["surface_cumulee"].iloc[0]), annee["objectif_cumule"].iloc[0]
        phrase = (f"{lieu} : {formater_chiffre('surface_desimpermeabilisee', cumul)} désimperméabilisés cumulés "
                  f"fin {donnees.demande.annee}")
        if pd.notna(objectif) and float(objectif) > 0:
            phrase += f", pour un objectif cumulé de {formater_chiffre('surface_desimpermeabilisee', objectif)}"
        section.textes.append(phrase + f" ; taux d'atteinte de l'objectif : "
                              f"{formater_chiffre('taux_atteinte_objectif', ligne['taux_atteinte_objectif'])}.")
    figure = figure_trajectoire(courbe[COLONNES_TRAJECTOIRE], titre_axe("surface_cumulee"), reference)
    section.image = figure_en_svg(figure, hauteur=360) or ""
    section.legende = ("Surface désimperméabilisée cumulée des opérations réalisées (trait plein), projection avec "
                       "les opérations en travaux et programmées (tirets), objectif (pointillés).")
    return section


def _section_sdage(donnees: DonneesRapport) -> Section:
    cible = cible_sdage_pourcent(donnees.parametres["ratio_sdage_cible"])
    communes = donnees.table[donnees.table["territoire"] != CODE_BASSIN]
    bassin = donnees.table.set_index("territoire").loc[CODE_BASSIN, "ratio_compensation_sdage"]
    section = Section("Compensation de l'imperméabilisation (SDAGE)")
    section.textes.append(
        f"Ratio de compensation du bassin : {formater_valeur('ratio_compensation_sdage', bassin)} (m² "
        f"désimperméabilisés pour 100 m² nouvellement imperméabilisés), pour une cible de "
        f"{formater_valeur('ratio_compensation_sdage', cible)} ; "
        f"{int((communes['ratio_compensation_sdage'] >= cible).sum())} commune(s) l'atteignent.")
    if communes["ratio_compensation_sdage"].notna().any():
        figure = figure_ratio_sdage(communes[["nom", "ratio_compensation_sdage"]], cible,
                                    titre_axe("ratio_compensation_sdage"))
        section.image = figure_en_svg(figure, hauteur=min(int(figure.layout.height or 420), 760)) or ""
    else:
        section.textes.append("Aucune surface nouvellement imperméabilisée connue : ratio non calculable.")
    return section


def _section_carte_bassin(donnees: DonneesRapport, identifiants_annee, attribution: str) -> Section:
    valeurs = donnees.table.set_index("territoire")["surface_desimpermeabilisee"].drop(CODE_BASSIN, errors="ignore")
    choroplethe = Choroplethe(valeurs, titre_axe("surface_desimpermeabilisee"), unite("surface_desimpermeabilisee"),
                              decimales("surface_desimpermeabilisee"))
    points = _points_operations(donnees.registre, donnees.zones, identifiants_annee)
    image, legende = construire_carte_svg(donnees.communes, choroplethe, points=points)
    section = Section("Carte", saut_de_page=True)
    section.image = image
    section.legende = (f"Communes colorées selon la surface désimperméabilisée (filtres en vigueur) ; points : "
                       f"{len(points)} opération(s) localisée(s) dont les travaux finissent en "
                       f"{donnees.demande.annee}, colorées par type de site. {attribution}")
    section.entrees_legende = legende + _legende_types(donnees.registre, identifiants_annee)
    return section


def _section_communes(donnees: DonneesRapport) -> Section:
    codes = ["nombre_operations", "surface_desimpermeabilisee", "volume_infiltre", "ratio_compensation_sdage",
             "taux_atteinte_objectif"] + (["cout_par_m2"] if donnees.details else [])
    table = donnees.table[donnees.table["territoire"] != CODE_BASSIN].sort_values("surface_desimpermeabilisee",
                                                                                   ascending=False)
    lignes = [{"Commune": ligne["nom"], **{ENTETES_COMMUNES[c]: formater_chiffre(c, ligne[c]) for c in codes}}
              for _, ligne in table.iterrows()]
    section = Section("Résultats par commune", saut_de_page=True)
    section.tableau = pd.DataFrame(lignes)
    section.colonnes_nombres = [ENTETES_COMMUNES[c] for c in codes]
    section.note = " ; ".join(f"{ENTETES_COMMUNES[c]} : {libelle(c).lower()}" for c in codes) + "."
    return section


def _attribution_contours(donnees: DonneesRapport) -> str:
    fiche = donnees.sources.get("communes") or {}
    return fiche.get("attribution") or "Contours : IGN ADMIN EXPRESS"


def construire_rapport_bassin(donnees: DonneesRapport, produit_le: datetime) -> ContenuRapport:
    """Rapport annuel du bassin : chiffres clés et leur périmètre, apport de l'année, trajectoire, SDAGE, carte,
    résultats par commune, opérations de l'année, retours d'expérience."""
    demande, territoire = donnees.demande, donnees.territoire
    lieu = territoire["nom"]
    bassin = donnees.table.set_index("territoire").loc[CODE_BASSIN]
    bassin_annee = donnees.table_annee.set_index("territoire").loc[CODE_BASSIN]
    noms = dict(zip(donnees.table["territoire"].astype(str), donnees.table["nom"].astype(str)))
    annee = donnees.operations[donnees.operations["annee"] == demande.annee]
    cles = Section("Chiffres clés", chiffres=_cartes_chiffres(bassin, _visibles(CHIFFRES_BASSIN, donnees.details),
                                                              donnees.parametres),
                   note=_nommer_filtres(donnees, lieu))
    apport = Section(f"Apport de l'année {demande.annee}",
                     chiffres=_cartes_chiffres(bassin_annee, _visibles(CHIFFRES_ANNEE, donnees.details),
                                               donnees.parametres),
                     note=f"Opérations retenues par les filtres dont les travaux finissent (ou doivent finir) en "
                          f"{demande.annee}.")
    tableau, nombres = _tableau_operations(annee, donnees.registre, donnees.details, noms, avec_annee=False)
    operations = Section(f"Opérations de l'année {demande.annee}", tableau=tableau, colonnes_nombres=nombres,
                         saut_de_page=True)
    retours = Section("Retours d'expérience", retours=_retours(annee, donnees.registre, noms))
    if not retours.retours:
        retours.textes.append(f"Aucun retour d'expérience saisi pour les opérations de {demande.annee}.")
    sections = [cles, apport, _section_trajectoire(donnees, CODE_BASSIN, lieu), _section_sdage(donnees),
                _section_carte_bassin(donnees, annee["operation_id"], _attribution_contours(donnees)),
                _section_communes(donnees), operations, retours]
    return ContenuRapport(f"{GENRES_RAPPORT['bassin']} {demande.annee}",
                          "Désimperméabilisation des sols : résultats du registre des opérations", lieu,
                          _couverture(donnees, lieu, produit_le), sections, _sources(donnees),
                          _avertissements(donnees), public=not donnees.details)


def construire_rapport_commune(donnees: DonneesRapport, produit_le: datetime) -> ContenuRapport:
    """Rapport d'une commune : chiffres clés comparés au bassin, trajectoire, carte des opérations, opérations,
    retours d'expérience."""
    demande = donnees.demande
    code = str(demande.code_insee)
    parterritoire = donnees.table.set_index("territoire")
    ligne, bassin = parterritoire.loc[code], parterritoire.loc[CODE_BASSIN]
    nom = str(ligne["nom"])
    noms = dict(zip(donnees.table["territoire"].astype(str), donnees.table["nom"].astype(str)))
    operations = donnees.operations[donnees.operations["code_insee"].astype(str) == code]
    ligne_annee = donnees.table_annee.set_index("territoire").loc[code]
    cles = Section("Chiffres clés", chiffres=_cartes_chiffres(ligne, _visibles(CHIFFRES_COMMUNE, donnees.details),
                                                              donnees.parametres, bassin),
                   note=_nommer_filtres(donnees, nom))
    cles.textes.append(f"{nom} : {formater_valeur('population', ligne['population'])} ; taux d'imperméabilisation "
                       f"{formater_valeur('taux_impermeabilisation', ligne['taux_impermeabilisation'])}.")
    apport = Section(f"Apport de l'année {demande.annee}",
                     chiffres=_cartes_chiffres(ligne_annee, _visibles(CHIFFRES_ANNEE, donnees.details),
                                               donnees.parametres))
    couleurs = lire_styles()["statuts"]
    zones = donnees.zones[donnees.zones["operation_id"].isin(operations["operation_id"]).to_numpy(bool)]
    statuts = donnees.registre.set_index("id")["statut"]
    zones = zones.assign(couleur=[couleurs.get(statuts.get(i), "#636363") for i in zones["operation_id"]])
    points = _points_operations(donnees.registre, donnees.zones, operations["operation_id"])
    points["couleur"] = [couleurs.get(statuts.get(i), "#636363") for i in points["operation_id"]]
    image, _ = construire_carte_svg(donnees.communes, None, zones=zones, points=points, communes_en_avant=[code])
    carte = Section("Carte des opérations", image=image,
                    legende=f"Zones des opérations localisées de {nom} retenues par les filtres, colorées par statut. "
                            f"{_attribution_contours(donnees)}",
                    entrees_legende=[(STATUTS[s], couleurs[s]) for s in STATUTS if s in set(operations["statut"])])
    tableau, nombres = _tableau_operations(operations, donnees.registre, donnees.details, noms)
    liste = Section("Opérations retenues", tableau=tableau, colonnes_nombres=nombres, saut_de_page=True)
    retours = Section("Retours d'expérience", retours=_retours(operations, donnees.registre, noms))
    if not retours.retours:
        retours.textes.append("Aucun retour d'expérience saisi pour ces opérations.")
    sections = [cles, apport, _section_trajectoire(donnees, code, nom), carte, liste, retours]
    return ContenuRapport(f"{GENRES_RAPPORT['commune']} {demande.annee} — {nom}",
                          "Désimperméabilisation des sols : opérations de la commune et leurs effets",
                          donnees.territoire["nom"], _couverture(donnees, nom, produit_le), sections,
                          _sources(donnees), _avertissements(donnees), public=not donnees.details)


def construire_rapport_financeur(donnees: DonneesRapport, produit_le: datetime) -> ContenuRapport:
    """Rapport d'un financeur : opérations aidées, aides par financeur, coût-efficacité par type de site."""
    demande = donnees.demande
    financeur = str(demande.financeur).strip()
    connus = sorted(donnees.financements["financeur"].dropna().astype(str).unique())
    if financeur not in connus:
        raise ErreurDonnees(f"Financeur « {financeur} » inconnu du registre (connus : {', '.join(connus) or 'aucun'}).",
                            "rapport", "financeur")
    lieu = donnees.territoire["nom"]
    noms = dict(zip(donnees.table["territoire"].astype(str), donnees.table["nom"].astype(str)))
    siens = donnees.financements[donnees.financements["financeur"].astype(str) == financeur]
    montants = siens.groupby("operation_id")["montant_eur"].sum()
    aidees = donnees.operations[donnees.operations["operation_id"].isin(montants.index)].copy()
    aidees["aide_financeur"] = aidees["operation_id"].map(montants).to_numpy(float)
    total_aide = float(aidees["aide_financeur"].sum())
    surface = float(aidees["surface_desimpermeabilisee"].sum())
    volume = float(aidees["volume_infiltre"].sum())
    cout = float(aidees["cout_total_ht"].sum(min_count=1)) if aidees["cout_total_ht"].notna().any() else np.nan
    chiffres = [("Opérations aidées", formater_nombre(len(aidees)), None),
                ("Aides du financeur", formater_nombre(total_aide, 0, "€"), financeur),
                ("Surface désimperméabilisée", formater_chiffre("surface_desimpermeabilisee", surface), None),
                ("Volume retenu en plus", formater_chiffre("volume_infiltre", volume), None),
                ("Aide par m² désimperméabilisé", formater_nombre(total_aide / surface, 1, "€/m²") if surface > 0
                 else "—", None),
                ("Coût HT des opérations aidées", formater_nombre(cout, 0, "€"), None)]
    cles = Section("Chiffres clés", chiffres=chiffres, note=_nommer_filtres(donnees, lieu))
    aides = calculer_aides(donnees.registre, donnees.financements, donnees.filtres)
    aides = aides[aides["territoire"] == CODE_BASSIN].sort_values("montant_aides", ascending=False)
    section_aides = Section("Aides par financeur (toutes les opérations retenues)")
    if len(aides):
        figure = figure_barres(aides[["financeur", "montant_aides"]], "financeur", "montant_aides",
                               titre_axe("montant_aides"), horizontal=True, unite="€",
                               hauteur=max(260, 50 * len(aides) + 80), surlignes=[financeur])
        section_aides.image = figure_en_svg(figure) or ""
        section_aides.tableau = pd.DataFrame({
            "Financeur": aides["financeur"].astype(str),
            "Montant des aides": [formater_nombre(v, 0, "€") for v in aides["montant_aides"]],
            "Part des aides": [formater_chiffre("part_aides_financeur", v) for v in aides["part_aides_financeur"]]})
        section_aides.colonnes_nombres = ["Montant des aides", "Part des aides"]
    else:
        section_aides.textes.append("Aucune aide déclarée pour les opérations retenues.")
    types = lire_types_site()
    par_type = calculer_indicateurs_groupes(donnees.registre[donnees.registre["id"].isin(montants.index)],
                                            donnees.zones, donnees.financements, "type_site", donnees.parametres,
                                            donnees.filtres)
    efficacite = Section("Coût-efficacité des opérations aidées, par type de site", saut_de_page=True)
    if len(par_type):
        tri = par_type.dropna(subset=["cout_par_m2"]).sort_values("cout_par_m2")
        tri = tri.assign(libelle=tri["type_site"].map(types))
        if len(tri):
            figure = figure_barres(tri[["libelle", "cout_par_m2"]], "libelle", "cout_par_m2", titre_axe("cout_par_m2"),
                                   horizontal=True, unite="€/m²", hauteur=max(260, 40 * len(tri) + 80))
            efficacite.image = figure_en_svg(figure) or ""
        efficacite.tableau = pd.DataFrame({
            "Type de site": par_type["type_site"].map(types),
            "Opérations": [formater_nombre(v) for v in par_type["nombre_operations"]],
            "Désimperméabilisé": [formater_chiffre("surface_desimpermeabilisee", v)
                                  for v in par_type["surface_desimpermeabilisee"]],
            "Coût HT par m²": [formater_chiffre("cout_par_m2", v) for v in par_type["cout_par_m2"]],
            "Coût HT par m³/an retenu": [formater_chiffre("cout_par_m3_infiltre", v)
                                         for v in par_type["cout_par_m3_infiltre"]]})
        efficacite.colonnes_nombres = ["Opérations", "Désimperméabilisé", "Coût HT par m²",
                                       "Coût HT par m³/an retenu"]
        efficacite.note = ("Coût HT par m² désimperméabilisé et par m³ de pluie retenu en plus chaque année "
                           "(opérations de coût connu) ; plus le coût est bas, plus l'opération est efficace.")
    tableau, nombres = _tableau_operations(aidees, donnees.registre, True, noms)
    tableau = tableau.drop(columns=["Statut"])  # opérations retenues par les filtres : place pour l'aide
    tableau["Aide du financeur"] = [formater_nombre(v, 0, "€") for v in
                                       aidees.sort_values(["code_insee", "surface_desimpermeabilisee"],
                                                          ascending=[True, False])["aide_financeur"]]
    liste = Section(f"Opérations aidées par {financeur}", tableau=tableau,
                    colonnes_nombres=[*nombres, "Aide du financeur"], saut_de_page=True)
    sections = [cles, section_aides, efficacite, liste]
    return ContenuRapport(f"{GENRES_RAPPORT['financeur']} {demande.annee} — {financeur}",
                          "Opérations de désimperméabilisation aidées : montants et coût-efficacité", lieu,
                          _couverture(donnees, lieu, produit_le), sections, _sources(donnees),
                          _avertissements(donnees), public=False)


CONSTRUCTEURS = {"bassin": construire_rapport_bassin, "commune": construire_rapport_commune,
                 "financeur": construire_rapport_financeur}


def construire_contenu_rapport(demande: DemandeRapport, utilisateur: Utilisateur, dossier: Path | None = None,
                               modeles=None, produit_le: datetime | None = None) -> ContenuRapport:
    """Contenu du rapport demandé, vu par ``utilisateur`` (version publique s'il ne lit pas les montants)."""
    donnees = lire_donnees_rapport(demande, utilisateur, dossier, modeles)
    produit_le = produit_le or datetime.now(tz=ZoneInfo(FUSEAU_AFFICHAGE))
    return CONSTRUCTEURS[demande.genre](donnees, produit_le)


def produire_rapport(demande: DemandeRapport, utilisateur: Utilisateur, dossier: Path | None = None,
                     modeles=None) -> bytes:
    """Rapport PDF demandé (octets), vu par ``utilisateur``."""
    return produire_pdf(construire_contenu_rapport(demande, utilisateur, dossier, modeles))


def produire_rapport_erreur(demande: DemandeRapport, message: str) -> bytes:
    """PDF d'une page qui dit pourquoi le rapport n'a pas pu être produit (téléchargement demandé depuis une page :
    le fichier arrive toujours, et il le dit en français)."""
    section = Section("Rapport impossible", textes=[message, "Rien n'a été modifié. Corrigez la demande puis "
                                                             "téléchargez de nouveau le rapport."])
    contenu = ContenuRapport(f"{GENRES_RAPPORT.get(demande.genre, 'Rapport')} {demande.annee}", "Rapport non produit",
                             "Désimper", [], [section], [])
    return produire_pdf(contenu)


def nommer_fichier_rapport(demande: DemandeRapport, public: bool) -> str:
    """Nom du fichier : ``rapport-bassin-2026.pdf``, ``rapport-commune-34301-2026-public.pdf``…"""
    morceaux = ["rapport", demande.genre]
    if demande.genre == "commune":
        morceaux.append(str(demande.code_insee))
    if demande.genre == "financeur":
        morceaux.append("".join(c if c.isalnum() else "-" for c in str(demande.financeur).lower()).strip("-"))
    morceaux.append(str(demande.annee))
    if public:
        morceaux.append("public")
    return "-".join(morceaux) + ".pdf"
