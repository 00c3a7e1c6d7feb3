"""Page « Administration » (administrateur) : comptes et rôles — créer, modifier, désactiver, réinitialiser
le mot de passe. Chaque action est vérifiée et journalisée côté données."""

import streamlit as st

from donnees.nomenclatures import ROLES
from pages import commun

facade = commun.obtenir_facade()
commun.ouvrir_page_reservee(
    "Administration", facade.peut("gerer_comptes"),
    "Page réservée aux administrateurs du syndicat de bassin : connectez-vous (page Connexion).", "admin_message")

communes = commun.charger_couche("communes_affichage")
noms = dict(zip(communes["code_insee"], communes["nom"]))
codes = sorted(noms, key=noms.get)

st.subheader("Comptes")
comptes = facade.lire_utilisateurs()
if comptes.empty:
    st.caption("Aucun compte pour l'instant.")
else:
    affichage = comptes.assign(role=comptes["role"].map(ROLES).fillna(comptes["role"]))
    colonnes = {"email": "Adresse", "nom": "Nom", "role": "Rôle", "communes": "Communes", "actif": "Actif",
                "derniere_connexion": "Dernière connexion", "echecs_connexion": "Échecs"}
    st.dataframe(affichage[[c for c in colonnes if c in affichage.columns]].rename(columns=colonnes),
                 hide_index=True, width="stretch")

with st.expander("Créer un compte", expanded=comptes.empty):
    with st.form("admin_creer"):
        gauche, droite = st.columns(2)
        email = gauche.text_input("Adresse électronique")
        nom = droite.text_input("Nom")
        role = gauche.selectbox("Rôle", list(ROLES), format_func=ROLES.get)
        rattachees = droite.multiselect("Communes (référents)", codes, format_func=lambda c: f"{noms[c]} ({c})")
        mot_de_passe = st.text_input("Mot de passe (laisser vide pour en générer un)", type="password")
        if st.form_submit_button("Créer le compte", type="primary"):
            def creer():
                secret = mot_de_passe or None
                compte = facade.creer_compte(email, nom, role, rattachees, secret)
                return compte, secret or facade.reinitialiser_mot_de_passe(compte.email)
            commun.executer_ecriture(
                creer, lambda r: f"Compte {r[0].email} créé."
                + ("" if mot_de_passe else f" Mot de passe à transmettre : {r[1]}"), "admin_message")

if not comptes.empty:
    with st.expander("Modifier un compte"):
        choisi = st.selectbox("Compte", list(comptes["email"]), key="admin_compte")
        ligne = comptes.set_index("email").loc[choisi]
        actuelles = [c for c in str(ligne.get("communes") or "").replace(" ", "").split(",") if c in noms]
        with st.form("admin_modifier"):
            gauche, droite = st.columns(2)
            nom = gauche.text_input("Nom", value=str(ligne["nom"]))
            role = droite.selectbox("Rôle", list(ROLES), index=list(ROLES).index(ligne["role"]),
                                    format_func=ROLES.get)
            rattachees = st.multiselect("Communes", codes, default=actuelles, format_func=lambda c: f"{noms[c]} ({c})")
            actif = st.checkbox("Compte actif", value=bool(ligne["actif"]))
            if st.form_submit_button("Enregistrer", type="primary"):
                commun.executer_ecriture(
                    lambda: facade.modifier_compte(choisi, nom=nom, role=role, communes=rattachees, actif=actif),
                    lambda c: f"Compte {c.email} modifié.", "admin_message")
        if st.button("Réinitialiser le mot de passe", key="admin_reinitialiser"):
            commun.executer_ecriture(
                lambda: facade.reinitialiser_mot_de_passe(choisi),
                lambda secret: f"Nouveau mot de passe de {choisi} (à transmettre) : {secret}", "admin_message")
