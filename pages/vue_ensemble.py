"""Page « Vue d'ensemble » : chiffres clés, carte du bassin colorée par un indicateur, trajectoire."""

import streamlit as st
from streamlit_folium import st_folium

from indicateurs.catalogue import codes_publics, libelle, lire_catalogue, titre_axe, unite
from indicateurs.communs import CODE_BASSIN
from pages import commun
from vues.cartes import Choroplethe, construire_carte_bassin
from vues.figures import figure_trajectoire
from vues.format import formater_nombre

INDICATEURS_CARTE = ["surface_desimpermeabilisee", "part_desimpermeabilisee", "volume_infiltre",
                     "taux_impermeabilisation", "anomalie_chaleur", "delta_t_operations", "ratio_compensation_sdage",
                     "taux_atteinte_objectif",
                     "cout_par_m2", "nombre_operations"]
CHIFFRES_CLES = ["surface_desimpermeabilisee", "volume_infiltre", "delta_t_operations", "nombre_operations",
                 "cout_total_ht", "taux_aide"]
# Vue publique : ni coûts ni aides (CONCEPTION §6) ; la progression vers l'objectif et le ratio SDAGE à la place.
CHIFFRES_PUBLICS = {"cout_total_ht": "taux_atteinte_objectif", "taux_aide": "ratio_compensation_sdage"}
# Chiffres qui ne s'additionnent pas d'une année sur l'autre : pas d'« apport de l'année ».
NON_CUMULABLES = {"delta_t_operations", "taux_atteinte_objectif", "ratio_compensation_sdage"}

couts_visibles = commun.couts_visibles()
publics = set(codes_publics())  # catalogue : public = non pour les coûts et les aides
chiffres_cles = CHIFFRES_CLES if couts_visibles else [c if c in publics else CHIFFRES_PUBLICS[c] for c in CHIFFRES_CLES]
indicateurs_carte = [c for c in INDICATEURS_CARTE if couts_visibles or c in publics]
territoire = commun.charger_territoire()
st.title("Vue d'ensemble")
st.caption(f"{territoire['nom']} — registre des opérations de désimperméabilisation")

# Premier affichage après le démarrage : modèles relus sur disque et indicateurs calculés (quelques secondes).
with st.spinner("Calcul des indicateurs…"):
    filtres = commun.lire_filtres()
    catalogue = lire_catalogue()
    communes = commun.charger_couche("communes_affichage")
    operations = commun.filtrer_operations(commun.charger_operations(), filtres)
    table = commun.calculer_communes(filtres)
    annees = commun.calculer_annees(filtres)
bassin = table.set_index("territoire").loc[CODE_BASSIN]
reference = table.attrs.get("annee_reference")


def decrire_evolution(code: str) -> str | None:
    """Apport de l'année de référence (« +1 234 m² en 2026 ») pour un indicateur cumulable."""
    if reference is None or code in NON_CUMULABLES:
        return None
    lignes = annees[(annees["territoire"] == CODE_BASSIN) & (annees["annee"] == reference)]
    if lignes.empty:
        return None
    valeur = float(lignes[code].iloc[0])
    if code == "taux_aide":
        precedente = annees[(annees["territoire"] == CODE_BASSIN) & (annees["annee"] == reference - 1)]
        if precedente.empty or precedente[code].isna().all() or lignes[code].isna().all():
            return None
        ecart = valeur - float(precedente[code].iloc[0])
        return f"{'+' if ecart >= 0 else '-'}{formater_nombre(abs(ecart), 1)} pts en {reference}"
    return f"+{formater_nombre(valeur, 0, unite(code))} en {reference}"


colonnes = [*st.columns(3), *st.columns(3)]
for colonne, code in zip(colonnes, chiffres_cles):
    decimales = int(catalogue.loc[code, "decimales"])
    symbole = unite(code) if unite(code) not in ("—", "") else None  # ratio sans unité
    colonne.metric(libelle(code), formater_nombre(bassin[code], decimales, symbole),
                   delta=decrire_evolution(code), delta_color="off" if code == "taux_aide" else "normal",
                   help=catalogue.loc[code, "formule"] + (
                       " — Modèle InVEST sur les opérations réalisées et validées (filtres non appliqués)."
                       if catalogue.loc[code, "famille"] == "chaleur" else ""), border=True)

commun.signaler_couche_absente("occupation", "la température (modèle de chaleur), le volume sur grille et le "
                                "taux d'imperméabilisation restent vides")
if operations.empty:
    st.info("Aucune opération ne correspond aux filtres choisis. Élargissez la sélection dans la barre "
            "latérale.")

carte_col, trajectoire_col = st.columns([3, 2], gap="large")
with carte_col:
    choix = st.selectbox("Colorer les communes selon", indicateurs_carte, format_func=titre_axe,
                         key="vue_indicateur_carte")
    valeurs = table.set_index("territoire")[choix].drop(CODE_BASSIN, errors="ignore")
    choroplethe = Choroplethe(valeurs, titre_axe(choix), unite(choix), int(catalogue.loc[choix, "decimales"]))
    carte = construire_carte_bassin(communes, operations, choroplethe=choroplethe)
    st_folium(carte, height=560, use_container_width=True, returned_objects=[], key="carte_bassin")
with trajectoire_col:
    st.subheader("Trajectoire du bassin")
    courbe = annees[annees["territoire"] == CODE_BASSIN]
    if courbe["surface_cumulee_projetee"].fillna(0).eq(0).all():
        st.info("Aucune surface désimperméabilisée dans la sélection : pas de trajectoire à tracer.")
    else:
        st.plotly_chart(figure_trajectoire(courbe, titre_axe("surface_cumulee"), reference),
                        width="stretch", config={"displaylogo": False, "locale": "fr"})
        st.caption("Surface désimperméabilisée cumulée (opérations réalisées), projection avec les opérations "
                   "en travaux et programmées, et objectif du bassin.")
if territoire.get("demo"):
    st.caption("Démonstration : contours réels des communes (IGN ADMIN EXPRESS), étang de Thau approché ; "
               "parcelles, occupation du sol et opérations synthétiques, qui ne correspondent pas au terrain.")
