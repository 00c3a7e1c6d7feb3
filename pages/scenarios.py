"""Page « Scénarios » : scénarios prospectifs de désimperméabilisation (issue 15, partie 2).

Le syndicat crée un scénario, y ajoute des parcelles choisies sur le potentiel d'une commune (revêtement visé,
type de site, année), le partage ; les communes concernées donnent leur avis site par site (co-construction) et
font d'un site accepté une opération programmée du registre ; l'effet se calcule avec les modèles du registre et
se compare aux seules opérations programmées et aux autres scénarios. Droits vérifiés côté données."""

import pandas as pd
import streamlit as st

from donnees.magasin.scenarios import AVIS_COMMUNE, LIBELLES_AVIS
from donnees.nomenclatures import codes_impermeables, lire_revetements, lire_types_site
from indicateurs.potentiel import CLASSES_POTENTIEL
from indicateurs.scenarios import BASES_COUT
from pages import commun
from pages.vues_en_cache import afficher_carte
from services.scenarios import REFERENCE, comparer_effets, relever_parcelles_disparues
from vues.cartes import construire_carte_scenario
from vues.figures import figure_trajectoires_scenarios
from vues.format import echapper_markdown, formater_nombre

SECTIONS = ["Sites et avis", "Ajouter des sites", "Effet et comparaison"]
MODES_AJOUT = ["Parcelles du potentiel", "Zones dessinées"]
NOMBRE_CANDIDATES = 60  # parcelles du potentiel proposées à l'ajout (meilleurs scores, fortes et moyennes)
ANNEE_DEFAUT = 2030

facade = commun.obtenir_facade()
commun.ouvrir_page_reservee("Scénarios", facade.peut("lire_scenarios"),
                            "Page réservée aux comptes connectés (syndicat, communes, financeurs)", "scenarios_message")
gerer = facade.peut("gerer_scenarios")
revetements = lire_revetements()["libelle"].to_dict()
communes = commun.charger_couche("communes_affichage")
noms = dict(zip(communes["code_insee"], communes["nom"]))

if gerer:
    with st.expander("Nouveau scénario", icon=":material/add:"):
        with st.form("scenario_nouveau", clear_on_submit=True):
            nom = st.text_input("Nom du scénario", placeholder="Parkings et cours d'école 2030")
            description = st.text_area("Description (hypothèses, horizon, concertation prévue)")
            if st.form_submit_button("Créer le scénario", type="primary"):
                commun.executer_ecriture(lambda: facade.creer_scenario(nom, description),
                                         f"Scénario « {nom} » créé.", "scenarios_message")

scenarios = facade.lire_scenarios()
if scenarios.empty:
    st.info("Aucun scénario " + ("pour l'instant : créez-en un ci-dessus." if gerer else
                                 "partagé avec vous pour l'instant : le syndicat de bassin les partage quand ils sont "
                                 "prêts pour la concertation."))
    st.stop()

libelles = dict(zip(scenarios["id"].astype(int), scenarios["nom"]))
scenario_id = st.selectbox("Scénario", list(libelles), format_func=libelles.get, key="scenario_choisi")
ligne = scenarios.set_index("id").loc[scenario_id]
st.caption(f"{formater_nombre(int(ligne['nombre_sites']))} site(s), "
           f"{formater_nombre(float(ligne['surface_sites_m2']), 0, 'm²')} ; "
           + ("partagé avec les communes concernées" if ligne["partage"] else "non partagé (syndicat seulement)")
           + (f". {echapper_markdown(ligne['description'])}" if isinstance(ligne["description"], str)
              and ligne["description"] else "."))
if gerer:
    partage = st.toggle("Partager avec les communes concernées (elles donnent leur avis sur leurs sites)",
                        value=bool(ligne["partage"]), key=f"scenario_partage_{scenario_id}")
    if partage != bool(ligne["partage"]):
        commun.executer_ecriture(
            lambda: facade.modifier_scenario(scenario_id, int(ligne["version"]), {"partage": partage}),
            "Scénario partagé avec les communes concernées." if partage else "Scénario retiré du partage.",
            "scenarios_message")

sections = SECTIONS if gerer else [s for s in SECTIONS if s != "Ajouter des sites"]
section = st.segmented_control("Section", sections, default=sections[0], key="scenario_section",
                               label_visibility="collapsed") or sections[0]
sites = facade.lire_sites_scenario(scenario_id)


def decrire_site(site) -> str:
    """« n° 12 — Sète, parcelle 34301000AB0012 (parking, 2030) »."""
    lieu = f"parcelle {site.parcelle_id}" if isinstance(site.parcelle_id, str) and site.parcelle_id else "zone dessinée"
    return (f"n° {int(site.site_id)} — {noms.get(site.code_insee, site.code_insee)}, {lieu} "
            f"({lire_types_site().get(site.type_site, site.type_site)}, {int(site.annee)})")


if section == "Sites et avis":
    if sites.empty:
        st.info("Ce scénario n'a pas encore de site" + (" : section « Ajouter des sites »." if gerer else "."))
        st.stop()
    afficher_carte(("scenario", commun.cle_donnees_affichees(), scenario_id, len(sites),
                    tuple(sites["avis"]), float(sites["surface_m2"].sum())),
                   lambda: construire_carte_scenario(communes, sites), key=f"carte_scenario_{scenario_id}",
                   height=440, returned_objects=[])
    tableau = pd.DataFrame({
        "Site": sites["site_id"].astype(int).to_numpy(),
        "Commune": [noms.get(c, c) for c in sites["code_insee"]],
        "Parcelle": sites["parcelle_id"].fillna("zone dessinée").to_numpy(),
        "Type de site": [lire_types_site().get(t, t) for t in sites["type_site"]],
        "Revêtements": [f"{revetements.get(a, a)} → {revetements.get(b, b)}"
                        for a, b in zip(sites["revetement_avant"], sites["revetement_apres"])],
        "Année": sites["annee"].astype(int).astype(str).to_numpy(),
        "Surface (m²)": sites["surface_m2"].round(0).to_numpy(float),
        "Avis": [LIBELLES_AVIS.get(a, a) for a in sites["avis"]],
        "Opération": [f"n° {int(o)}" if pd.notna(o) else "" for o in sites["operation_id"]]})
    commun.afficher_tableau(tableau, cle="Site")
    disparues = relever_parcelles_disparues(sites)
    if disparues:
        st.warning("Parcelles absentes du cadastre importé (réimporté depuis ?) : "
                   + ", ".join(f"site n° {site} ({parcelle})" for site, parcelle in disparues)
                   + ". Les sites gardent leur contour ; vérifiez-les sur la carte ou retirez-les.")
    avis = facade.lire_avis_scenario(scenario_id)
    if len(avis):
        st.markdown("**Avis des communes**")
        commun.afficher_tableau(pd.DataFrame({
            "Site": avis["site_id"].astype(int).to_numpy(), "Commune": [noms.get(c, c) for c in avis["code_insee"]],
            "Avis": [LIBELLES_AVIS.get(a, a) for a in avis["avis"]], "Commentaire": avis["commentaire"].fillna(""),
            "Date": pd.to_datetime(avis["cree_le"]).dt.strftime("%d/%m/%Y").to_numpy()}))
    ouverts = [s for s in sites.itertuples() if s.avis != "accepte"]
    commentables = [s for s in ouverts if facade.peut("commenter_site", s.code_insee)]
    if commentables:
        st.markdown("**Avis de votre commune**")
        with st.form("scenario_avis"):
            choisi = st.selectbox("Site", commentables, format_func=decrire_site)
            valeur = st.radio("Avis", AVIS_COMMUNE, format_func=LIBELLES_AVIS.get, horizontal=True)
            commentaire = st.text_area("Commentaire (obligatoire si non faisable : foncier, réseaux, usage…)")
            if st.form_submit_button("Enregistrer l'avis", type="primary"):
                commun.executer_ecriture(lambda: facade.donner_avis(int(choisi.site_id), valeur, commentaire),
                                         f"Avis enregistré sur le site n° {int(choisi.site_id)}.", "scenarios_message")
    convertibles = [s for s in ouverts if s.avis in ("faisable", "deja_prevu") and facade.peut("creer", s.code_insee)]
    if convertibles:
        st.markdown("**Faire d'un site une opération programmée**")
        st.caption("Le site devient une opération « programmée » de la commune, à valider par le syndicat, liée au "
                   "scénario ; sa zone et ses revêtements sont repris, la fin des travaux prévue au 31 décembre de "
                   "l'année du site.")
        with st.form("scenario_convertir"):
            choisi = st.selectbox("Site accepté", convertibles, format_func=decrire_site)
            nom_operation = st.text_input("Nom de l'opération", placeholder="Parking du port désimperméabilisé")
            if st.form_submit_button("Créer l'opération programmée", type="primary"):
                champs = {"nom": nom_operation} if nom_operation.strip() else {}
                commun.executer_ecriture(lambda: facade.convertir_site(int(choisi.site_id), champs),
                                         lambda numero: f"Opération programmée n° {numero} créée depuis le site "
                                                        f"n° {int(choisi.site_id)} (à valider).", "scenarios_message")

elif section == "Ajouter des sites":
    code = commun.choisir_commune()
    mode = st.radio("Sites", MODES_AJOUT, horizontal=True, key="scenario_mode_ajout")
    permeables = [c for c in revetements if c not in codes_impermeables()]
    types = lire_types_site()
    nouveaux = []  # (parcelle ou None, géométrie WGS84 ou None, revêtement avant ou None)
    if mode == MODES_AJOUT[0]:
        potentiel = commun.calculer_potentiel_commune(code)
        if potentiel is None or potentiel.empty:
            st.info("Pas de parcelle dans cette commune : pas de site à proposer.")
            st.stop()
        deja = set(sites["parcelle_id"].dropna())
        candidates = (potentiel[potentiel["classe_potentiel"].isin(["fort", "moyen"]).to_numpy(bool)
                                & ~potentiel["id"].isin(deja).to_numpy(bool)]
                      .sort_values(["score_potentiel", "id"], ascending=[False, True]).head(NOMBRE_CANDIDATES))
        st.caption(f"Les {formater_nombre(len(candidates))} parcelles au plus fort potentiel de "
                   f"{echapper_markdown(noms.get(code, code))} qui ne sont pas déjà dans le scénario : cochez celles "
                   "à ajouter. Le site est la partie imperméable non bâtie de la parcelle (occupation du sol).")
        choix = st.dataframe(pd.DataFrame({
            "Parcelle": candidates["id"].to_numpy(),
            "Potentiel": [CLASSES_POTENTIEL[c] for c in candidates["classe_potentiel"]],
            "Score": candidates["score_potentiel"].round(0).to_numpy(),
            "Gisement (m²)": candidates["surface_impermeable_non_batie_parcelle"].round(0).to_numpy(),
            "Motifs": candidates["motifs"].to_numpy()}), hide_index=True, width="stretch", on_select="rerun",
            selection_mode="multi-row", key=f"scenario_candidates_{scenario_id}_{code}")
        nouveaux = [(p, None, None) for p in (candidates["id"].iloc[choix.selection.rows].tolist()
                                              if choix and choix.selection.rows else [])]
    else:
        from shapely.geometry import shape
        from streamlit_folium import st_folium

        from vues.cartes import construire_carte_saisie

        st.caption("Dessinez chaque zone à désimperméabiliser (outil polygone ou rectangle), puis dites son "
                   "revêtement actuel ; elle doit être dans la commune choisie.")
        retour = st_folium(construire_carte_saisie(communes[communes["code_insee"] == code]), height=420,
                           use_container_width=True, key=f"scenario_dessin_{scenario_id}_{code}",
                           returned_objects=["all_drawings"])
        impermeables = [c for c in revetements if c in codes_impermeables() and c != "bati"]
        for rang, dessin in enumerate((retour or {}).get("all_drawings") or [], start=1):
            try:
                geometrie = shape(dessin.get("geometry") or {})
            except (ValueError, AttributeError, TypeError):
                st.error(f"Zone {rang} illisible : redessinez-la.")
                continue
            avant = st.selectbox(f"Zone {rang} : revêtement actuel", impermeables, format_func=revetements.get,
                                 key=f"scenario_dessin_avant_{rang}")
            nouveaux.append((None, geometrie, avant))
    colonnes = st.columns(3)
    cible = colonnes[0].selectbox("Revêtement visé", permeables, index=permeables.index("pelouse"),
                                  format_func=revetements.get, key="scenario_revetement")
    type_site = colonnes[1].selectbox("Type de site", list(types), format_func=types.get, key="scenario_type_site")
    annee = colonnes[2].number_input("Année visée", min_value=2025, max_value=2100, value=ANNEE_DEFAUT, step=1,
                                     key="scenario_annee")
    libelle_bouton = (f"Ajouter {len(nouveaux)} parcelle(s) au scénario" if mode == MODES_AJOUT[0]
                      else f"Ajouter {len(nouveaux)} zone(s) dessinée(s) au scénario")
    if st.button(libelle_bouton, type="primary", disabled=not nouveaux, icon=":material/add_location_alt:"):
        from services.scenarios import construire_sites_parcelles

        def ajouter():
            """Sites des parcelles cochées (partie imperméable non bâtie) ou des zones dessinées."""
            if mode == MODES_AJOUT[0]:
                a_ajouter = construire_sites_parcelles(code, [p for p, _, _ in nouveaux], cible, int(annee),
                                                       type_site)
            else:
                a_ajouter = [{"code_insee": code, "parcelle_id": None, "geometrie": g, "revetement_avant": avant,
                              "revetement_apres": cible, "type_site": type_site, "annee": int(annee)}
                             for _, g, avant in nouveaux]
            return facade.ajouter_sites(scenario_id, a_ajouter)

        commun.executer_ecriture(ajouter, lambda ids: f"{len(ids)} site(s) ajouté(s) au scénario.",
                                 "scenarios_message")

else:
    autres = [i for i in libelles if i != scenario_id]
    compares = (st.multiselect("Comparer aussi avec", autres, format_func=libelles.get, key="scenario_compares",
                               placeholder="Choisissez d'autres scénarios") if autres else [])
    st.caption(f"Effets au-delà des opérations réalisées du registre (validées) : « {REFERENCE} » compte les "
               "opérations programmées et en travaux ; un scénario y ajoute ses sites. Mêmes formules et mêmes "
               "modèles que le registre ; coût = médiane des coûts au m² du registre (1er – 3e quartile). Le premier "
               "calcul après un redémarrage prend plus longtemps (modèle de chaleur complet).")
    if st.button("Calculer et comparer", type="primary", icon=":material/calculate:", key="scenario_calculer"):
        st.session_state["scenario_calcul"] = (scenario_id, tuple(compares))
    demande = st.session_state.get("scenario_calcul")
    if demande and demande[0] == scenario_id:
        empreintes = scenarios.set_index("id")
        with st.spinner("Calcul de l'effet (modèles de chaleur et d'eau sur grille)…"):
            effets = [commun.calculer_reference_scenarios()]
            for numero in (scenario_id, *[i for i in demande[1] if i in libelles]):
                if int(empreintes.at[numero, "nombre_sites"]) == 0:
                    st.warning(f"Scénario « {libelles[numero]} » vide : ajoutez des sites avant de calculer son "
                               "effet.")
                    continue
                effets.append(commun.calculer_effet_scenario(numero, (
                    int(empreintes.at[numero, "version"]), int(empreintes.at[numero, "nombre_sites"]),
                    round(float(empreintes.at[numero, "surface_sites_m2"]), 2))))
        commun.afficher_tableau(comparer_effets(effets), cle="Chiffre")
        trajectoires = {effet.nom: effet.trajectoire for effet in effets if len(effet.trajectoire)}
        if trajectoires:
            donnees = pd.concat([t.assign(scenario=nom) for nom, t in trajectoires.items()], ignore_index=True)
            commun.afficher_graphique(
                figure_trajectoires_scenarios(trajectoires, "Surface désimperméabilisée cumulée (m²)"),
                donnees.rename(columns={"scenario": "Scénario", "annee": "Année",
                                        "surface_cumulee_projetee": "Surface cumulée (m²)",
                                        "objectif_cumule": "Objectif cumulé (m²)"}),
                "trajectoires_scenarios", "Lecture : cumul des opérations réalisées et des surfaces ajoutées, par "
                "année prévue, contre l'objectif du bassin (Administration → Objectifs)", "scenario_trajectoires")
        if len(effets) > 1 and not effets[1].sites.empty:
            detail = effets[1].sites
            st.markdown(f"**Sites de « {echapper_markdown(effets[1].nom)} » : effet et coût estimé**")
            commun.afficher_tableau(pd.DataFrame({
                "Site": detail["site_id"].astype(int).to_numpy(),
                "Commune": [noms.get(c, c) for c in detail["code_insee"]],
                "Surface désimperméabilisée (m²)": detail["surface_desimpermeabilisee"].round(0).to_numpy(),
                "Volume retenu (m³/an)": detail["volume_infiltre"].round(0).to_numpy(),
                "Coût estimé (€)": detail["cout_estime"].round(-2).to_numpy(),
                "Fourchette (€)": [f"{formater_nombre(a, 0)} – {formater_nombre(b, 0)}"
                                   for a, b in zip(detail["cout_bas"], detail["cout_haut"])],
                "Base du coût": [f"{BASES_COUT[b]} ({formater_nombre(int(n))} opérations)"
                                 for b, n in zip(detail["base_cout"], detail["effectif_cout"])]}), cle="Site")
