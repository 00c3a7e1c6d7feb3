"""Page « Vue d'ensemble » : chiffres clés d'un périmètre affiché, carte colorée par un indicateur, trajectoire.

Par défaut les chiffres comptent les opérations réalisées (travaux terminés) ; en travaux et programmées
forment une carte « projection » à part, jamais additionnée en silence.
"""

import streamlit as st

from indicateurs.catalogue import (codes_publics, formater_chiffre, formater_valeur, libelle, lire_catalogue, titre_axe,
                                   unite)
from indicateurs.chaleur_abords import decrire_estimation_site
from indicateurs.communs import CODE_BASSIN
from indicateurs.trajectoire import cible_sdage_pourcent
from pages import commun, ressources_communs
from pages.vues_en_cache import afficher_carte_bornee, construire_figure
from services.indicateurs import decrire_statuts, nommer_statuts, statuts_non_comptes
from vues.cartes import Choroplethe, construire_fond_bassin, decrire_selection
from vues.figures import COLONNES_TRAJECTOIRE, figure_trajectoire
from vues.format import echapper_markdown, formater_nombre

INDICATEURS_CARTE = ["surface_desimpermeabilisee", "part_desimpermeabilisee", "volume_infiltre",
                     "taux_impermeabilisation", "anomalie_chaleur", "rafraichissement_emprise",
                     "surface_sortie_ilot", "ratio_compensation_sdage", "taux_atteinte_objectif", "cout_par_m2",
                     "nombre_operations"]
# Lignes de cartes ; « projection » : carte à part des opérations en travaux et programmées.
LIGNES_CHIFFRES = [["surface_desimpermeabilisee", "nombre_operations", "projection"],
                   ["volume_infiltre", "rafraichissement_emprise", "surface_sortie_ilot"],
                   ["taux_atteinte_objectif", "ratio_compensation_sdage", "cout_total_ht", "taux_aide"]]
# Chiffres qui ne s'additionnent pas d'une année sur l'autre : pas d'« apport de l'année ».
CUMULABLES = {"surface_desimpermeabilisee", "volume_infiltre", "nombre_operations", "cout_total_ht"}

territoire = commun.charger_territoire()
st.title("Vue d'ensemble")
st.caption(f"{echapper_markdown(territoire['nom'])} — registre des opérations de désimperméabilisation")
# Appels à projets à échéance proche (issue 16, partie 1) : membres connectés seulement.
ressources_communs.afficher_echeances_proches(commun.obtenir_facade())

perimetre = commun.choisir_perimetre(commun.lire_filtres(), "vue_perimetre")
filtres = perimetre.filtres
parametres = commun.parametres_territoire()
publics = set(codes_publics())  # catalogue : public = non pour les coûts et les aides
# Premier affichage après le démarrage : modèles relus sur disque et indicateurs calculés (quelques secondes).
with st.spinner("Calcul des indicateurs…"):
    catalogue = lire_catalogue()
    communes = commun.charger_couche("communes_affichage")
    table = commun.calculer_communes(filtres)
    annees = commun.calculer_annees(filtres)
    non_comptes = statuts_non_comptes(filtres)
    projection = (commun.calculer_groupes(commun.Filtres(**{**filtres.__dict__, "statuts": non_comptes}), "statut")
                  if non_comptes else None)
bassin = table.set_index("territoire").loc[CODE_BASSIN]
reference = table.attrs.get("annee_reference")


def decrire_evolution(code: str) -> str | None:
    """Apport de l'année de référence (« +1 234 m² en 2026 ») pour un indicateur cumulable."""
    if reference is None or code not in CUMULABLES:
        return None
    lignes = annees[(annees["territoire"] == CODE_BASSIN) & (annees["annee"] == reference)]
    if lignes.empty:
        return None
    valeur = float(lignes[code].iloc[0])
    return f"+{formater_nombre(valeur, 0, unite(code))} en {reference}" if valeur > 0 else None


def aide(code: str) -> str:
    """Formule du catalogue ; pour la chaleur, les opérations que le modèle prend en compte."""
    texte = catalogue.loc[code, "formule"]
    if code == "rafraichissement_emprise":
        return (f"Estimation par site : rafraîchissement local {decrire_estimation_site(parametres)} (pas une "
                "moyenne du bassin). "
                f"{texte} — Le modèle sur grille (opérations réalisées et validées) donne "
                f"{formater_valeur('rafraichissement_abords', bassin['rafraichissement_abords'])} sur les mêmes "
                "abords : voir la page Méthode.")
    if catalogue.loc[code, "famille"] == "chaleur":
        texte += (f" — Modèle InVEST sur les opérations réalisées et validées ({perimetre.lieu}) ; filtres "
                  "d'année, de type et de statut non appliqués.")
    return texte


def afficher_projection(colonne) -> None:
    """Carte à part : surface des opérations non comptées (en travaux, programmées), une projection."""
    statuts = nommer_statuts(non_comptes)
    surface = float(projection["surface_desimpermeabilisee"].sum()) if len(projection) else 0.0
    nombre = int(projection["nombre_operations"].sum()) if len(projection) else 0
    colonne.metric(f"{statuts.capitalize()} (projection)", formater_nombre(surface, 0, "m²"),
                   help=f"{formater_nombre(nombre)} opération(s) {statuts}, non comptées dans les autres chiffres : "
                        f"une projection, pas un résultat.\n\n{perimetre.legende}", border=True)


for ligne in LIGNES_CHIFFRES:
    codes = [c for c in ligne if c == "projection" and non_comptes
             or c != "projection" and (perimetre.details or c in publics)]
    for colonne, code in zip(st.columns(len(codes)), codes):
        if code == "projection":
            afficher_projection(colonne)
            continue
        cible = (f"cible : {formater_valeur(code, cible_sdage_pourcent(parametres['ratio_sdage_cible']))}"
                 if code == "ratio_compensation_sdage" else None)
        colonne.metric(libelle(code), formater_chiffre(code, bassin[code]), delta=cible or decrire_evolution(code),
                       delta_color="off" if cible else "normal", delta_arrow="off" if cible else "auto",
                       help=f"{aide(code)}\n\n{perimetre.legende}", border=True)
st.caption(perimetre.legende)

commun.signaler_couche_absente("occupation", "la température (modèle de chaleur), le volume sur grille et le "
                                "taux d'imperméabilisation restent vides")
if not bassin["nombre_operations"] > 0:
    st.info("Aucune opération ne correspond aux filtres choisis. Élargissez la sélection dans la barre "
            "latérale.")



@st.fragment
def afficher_carte_communes(choroplethe: Choroplethe) -> None:
    """Carte bornée : fond construit une fois par processus pour ces données, ces droits, ces filtres et cet
    indicateur ; cercles par commune, opérations de l'emprise au zoom ; seul ce fragment se réexécute quand on
    déplace ou zoome la carte."""
    _, selection = afficher_carte_bornee(
        ("vue_ensemble", commun.cle_donnees_affichees(), filtres, choroplethe.titre),
        lambda: construire_fond_bassin(communes, commun.charger_resume_operations(filtres),
                                       choroplethe=choroplethe),
        lambda: commun.charger_points_operations(filtres),
        lambda: commun.charger_agregats_operations(filtres), "type_site", key="carte_bassin", height=560,
        returned_objects=[])
    st.caption(f"Points : {decrire_statuts(filtres)}. {decrire_selection(selection)}")


carte_col, trajectoire_col = st.columns([3, 2], gap="large")
with carte_col:
    indicateurs_carte = [c for c in INDICATEURS_CARTE if perimetre.details or c in publics]
    choix = st.selectbox("Colorer les communes selon", indicateurs_carte, format_func=titre_axe,
                         key="vue_indicateur_carte")
    valeurs = table.set_index("territoire")[choix].drop(CODE_BASSIN, errors="ignore")
    choroplethe = Choroplethe(valeurs, titre_axe(choix), unite(choix), int(catalogue.loc[choix, "decimales"]))
    afficher_carte_communes(choroplethe)
with trajectoire_col:
    st.subheader("Trajectoire")
    courbe = annees[annees["territoire"] == CODE_BASSIN]
    if courbe["surface_cumulee_projetee"].fillna(0).eq(0).all():
        st.info("Aucune surface désimperméabilisée dans la sélection : pas de trajectoire à tracer.")
    else:
        st.plotly_chart(construire_figure(figure_trajectoire, courbe[COLONNES_TRAJECTOIRE],
                                          titre_axe("surface_cumulee"), reference),
                        width="stretch", config={"displaylogo": False, "locale": "fr"})
        st.caption(f"{perimetre.lieu} : surface désimperméabilisée cumulée des opérations réalisées (trait "
                   "plein), projection avec les opérations en travaux et programmées (tirets), et objectif.")
st.subheader("Rapport annuel")
commun.proposer_rapport("bassin", filtres, cle="rapport_vue")
if territoire.get("demo"):
    st.caption("Démonstration : contours réels des communes (IGN ADMIN EXPRESS), étang de Thau approché ; "
               "parcelles, occupation du sol et opérations synthétiques, qui ne correspondent pas au terrain.")
