"""Page « Carte » : grande carte à couches (communes, chaleur, imperméabilisation, parcelles d'une commune),
opérations par type ou statut (cercles par commune à faible zoom, opérations de l'emprise au zoom) ; un clic sur
une opération affiche sa fiche à côté de la carte, un clic sur une commune ouvre sa page."""

import streamlit as st

from indicateurs.catalogue import titre_axe, unite
from indicateurs.communs import CODE_BASSIN
from indicateurs.potentiel import choisir_parcelles_potentiel
from indicateurs.priorites import classer_parcelles
from pages import commun
from pages.vues_en_cache import afficher_carte, afficher_carte_bornee
from services.indicateurs import decrire_statuts
from services.potentiel import decrire_potentiel
from vues.cartes import Choroplethe, construire_carte_commune, construire_fond_bassin, decrire_selection

COUCHES = ["Communes", "Chaleur", "Imperméabilisation", "Parcelles d'une commune", "Potentiel d'une commune"]
INDICATEURS = ["surface_desimpermeabilisee", "part_desimpermeabilisee", "volume_infiltre", "ratio_compensation_sdage",
               "taux_atteinte_objectif", "anomalie_chaleur", "rafraichissement_emprise", "cout_par_m2",
               "nombre_operations"]
COULEURS = {"type_site": "Type de site", "statut": "Statut"}
NOMBRE_PARCELLES = 300  # parcelles prioritaires envoyées à la carte
NOMBRE_PARCELLES_CLASSE = 150  # potentiel : meilleurs scores de chaque classe envoyés à la carte
ECHELLES_POTENTIEL = ["parcelle", "îlot"]

indicateurs = INDICATEURS if commun.couts_visibles() else [c for c in INDICATEURS if not c.startswith("cout")]
filtres = commun.lire_filtres()
communes = commun.charger_couche("communes_affichage")
table = commun.calculer_communes(filtres).set_index("territoire").drop(CODE_BASSIN)

st.title("Carte")
# Sélecteur de couche sur sa propre ligne, en pastilles qui passent à la ligne : entièrement visible de 390 à
# 1440 px (un contrôle segmenté dans une colonne coupait « Parcelles d'une commune »).
couche = st.pills("Couche", COUCHES, default=COUCHES[0], key="carte_couche") or COUCHES[0]
milieu, droite = st.columns([1, 1])
couleur_par = milieu.radio("Opérations colorées par", list(COULEURS), format_func=COULEURS.get, horizontal=True,
                           key="carte_couleur")
if not table["nombre_operations"].sum() > 0:  # agrégats de la base : le registre n'est pas relu ici
    st.info("Aucune opération ne correspond aux filtres choisis : seules les communes sont affichées.")

def zones_commune(code: str):
    """Zones des opérations retenues par les filtres dans la commune ``code``."""
    operations = commun.filtrer_operations(commun.charger_operations(), filtres)
    zones = commun.charger_zones()
    return zones[zones["operation_id"].isin(operations["id"]).to_numpy(bool)
                 & zones["code_insee"].eq(code).to_numpy(bool)]


def commune_seule(code: str):
    """Contour de la commune ``code``."""
    return commun.charger_couche("communes")[lambda t: t["code_insee"] == code]


cle = ("carte", commun.cle_donnees_affichees(), filtres, couche, couleur_par)
if couche == "Parcelles d'une commune":
    with droite:
        code = commun.choisir_commune()
    commun.signaler_couche_absente("parcelles", "pas de parcelle à classer")
    commun.signaler_couche_absente("occupation", "pas de surface imperméable pour classer les parcelles")
    cle = (*cle, code)

    def construire():
        """Parcelles les plus prioritaires de la commune et zones des opérations retenues."""
        priorites = commun.calculer_priorites_commune(code)
        candidates = classer_parcelles(priorites, code, NOMBRE_PARCELLES) if priorites is not None else None
        return construire_carte_commune(commune_seule(code), zones_commune(code),
                                        commun.geometrer_parcelles(code, candidates))
    st.caption(f"Les {NOMBRE_PARCELLES} parcelles les plus prioritaires de la commune, colorées par score "
               "(0 à 100) ; les zones des opérations par type de site.")
elif couche == "Potentiel d'une commune":
    with droite:
        code = commun.choisir_commune()
        echelle = st.radio("Potentiel par", ECHELLES_POTENTIEL, horizontal=True, key="carte_echelle_potentiel")
    commun.signaler_couche_absente("parcelles", "pas de parcelle à évaluer")
    commun.signaler_couche_absente("occupation", "potentiel inconnu : l'imperméabilisation vient de l'occupation du "
                                                 "sol")
    cle = (*cle, code, echelle)
    potentiel = commun.calculer_potentiel_commune(code)
    ilots = commun.calculer_potentiel_ilots(code) if echelle == "îlot" else None

    def construire():
        """Parcelles (ou îlots) au plus fort potentiel de la commune et les exclues, zones des opérations."""
        if echelle == "îlot":
            montres = choisir_parcelles_potentiel(ilots, NOMBRE_PARCELLES_CLASSE) if ilots is not None else None
        else:
            choisies = (choisir_parcelles_potentiel(potentiel, NOMBRE_PARCELLES_CLASSE)
                        if potentiel is not None and len(potentiel) else None)
            montres = commun.geometrer_parcelles(code, choisies)
        return construire_carte_commune(commune_seule(code), zones_commune(code), potentiel=montres)
    st.caption(decrire_potentiel(potentiel, NOMBRE_PARCELLES_CLASSE, ilots)
               + (" Îlot : parcelles contiguës bordées par les voies, score moyen pondéré par la surface."
                  if echelle == "îlot" else ""))
else:
    choroplethe, image = None, None
    if couche == "Communes":
        indicateur = droite.selectbox("Indicateur", indicateurs, format_func=titre_axe, key="carte_indicateur")
        choroplethe = Choroplethe(table[indicateur], titre_axe(indicateur), unite(indicateur))
        cle = (*cle, indicateur)
    elif couche == "Imperméabilisation":
        commun.signaler_couche_absente("occupation", "le taux d'imperméabilisation des communes est inconnu")
        choroplethe = Choroplethe(table["taux_impermeabilisation"], titre_axe("taux_impermeabilisation"), "%", 1)
    else:
        scenario = droite.selectbox("Scénario", list(commun.SCENARIOS_CHALEUR), index=1,
                                    format_func=commun.SCENARIOS_CHALEUR.get, key="carte_scenario")
        cle = (*cle, scenario)
        if not commun.signaler_couche_absente("occupation", "pas de carte de chaleur (le modèle part de "
                                                         "l'occupation du sol)"):
            image = commun.image_chaleur(scenario)

    def construire():
        """Communes (choroplèthe ou chaleur) et légende ; les opérations suivent la vue (couche à part)."""
        return construire_fond_bassin(communes, commun.charger_resume_operations(filtres, couleur_par),
                                      choroplethe=choroplethe, couleur_par=couleur_par, image=image)
    st.caption(f"Points et couleurs des communes : {decrire_statuts(filtres)}. Cliquez sur une commune pour "
               "ouvrir sa page, sur une opération pour voir sa fiche.")


def ouvrir_commune(proprietes: dict) -> None:
    """Clic sur une commune (propriétés ``code_insee`` et ``operations``) : ouvre sa page, une fois par clic."""
    if "operations" in proprietes and "code_insee" in proprietes:
        if st.session_state.get("carte_dernier_clic") != proprietes["code_insee"]:
            st.session_state["carte_dernier_clic"] = proprietes["code_insee"]
            st.switch_page("pages/commune.py", query_params={"code": proprietes["code_insee"]})


@st.fragment
def afficher_bassin() -> None:
    """Carte bornée (cercles par commune, opérations de l'emprise au zoom) et, à côté, la fiche de l'opération
    cliquée, lue à la demande ; seul ce fragment se réexécute quand on déplace ou zoome la carte."""
    carte_col, fiche_col = st.columns([3, 1], gap="medium")
    with carte_col:
        # Fond construit une fois par processus pour ces données, ces droits, ces filtres et ces choix ;
        # couche des opérations une fois par vue arrondie.
        retour, selection = afficher_carte_bornee(
            cle, construire, lambda: commun.charger_points_operations(filtres),
            lambda: commun.charger_agregats_operations(filtres), couleur_par,
            key=f"carte_{couche}", height=680, returned_objects=["last_active_drawing"])
    proprietes = ((retour or {}).get("last_active_drawing") or {}).get("properties") or {}
    ouvrir_commune(proprietes)
    with fiche_col:
        st.caption(decrire_selection(selection))
        fiche = commun.lire_fiche_operation(proprietes["id"], filtres) if "id" in proprietes else None
        if fiche is None:
            st.info("Cliquez sur une opération pour afficher sa fiche ici (zoomez pour voir les opérations une à "
                    "une).")
            return
        st.html(fiche)
        if st.button("Ouvrir la fiche complète", key="carte_ouvrir_fiche", icon=":material/description:"):
            st.switch_page("pages/fiche.py", query_params={"id": str(int(proprietes["id"]))})


if couche == "Parcelles d'une commune":
    afficher_carte(cle, construire, key=f"carte_{couche}", height=680, returned_objects=[])
else:
    afficher_bassin()
