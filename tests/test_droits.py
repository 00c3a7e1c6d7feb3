"""Droits d'accès (CONCEPTION §6) vérifiés dans la couche de données : matrice complète rôles × actions
au travers de :class:`MagasinProtege`, sur SQLite et sur PostgreSQL + PostGIS."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from donnees import droits
from donnees.comptes import VISITEUR, Utilisateur, lire_compte
from donnees.droits import (
    COLONNES_MASQUEES_PUBLIC,
    ErreurDroits,
    MagasinProtege,
    est_public,
    exiger,
    filtrer_financements,
    filtrer_operations,
    lire_noms_communes,
    lire_perimetre,
    peut,
)
from donnees.magasin import ConflitVersion, Magasin
from donnees.erreurs import ErreurDonnees

A, B = "34301", "34157"  # Sète, Mèze
NOMS = {A: "Sète", B: "Mèze", "34108": "Frontignan"}
EMAILS = {
    "administrateur": "admin@bassin-thau.fr",
    "financeur": "financeur@eaurmc.fr",
    "referent_A": "ref.a@sete.fr",
    "referent_B": "ref.b@meze.fr",
}
ROLES = ["visiteur", "financeur", "referent_A", "referent_B", "administrateur"]
TOUS = set(ROLES)


def operation(code: str, validation: str = "a_valider", **autres) -> dict:
    """Opération complète et valide dans la commune ``code``."""
    rang = operation.compteur = getattr(operation, "compteur", 0) + 1
    x = 3.69 + 0.001 * rang
    saisie = {
        "code_insee": code, "nom": f"Cour d'école n° {rang}", "type_site": "cour_ecole", "statut": "realisee",
        "validation": validation,
        "commentaire_validation": "Précisez la surface plantée." if validation == "a_corriger" else None,
        "date_fin_travaux": date(2024, 5, 1), "maitre_ouvrage": "Ville", "description": "Cour débitumée.",
        "retour_experience": "Associer les enfants.", "contact": "agent.technique@mairie.fr",
        "cout_ht_eur": 100_000.0, "parcelles": [f"{code}000AB0123"],
        "zones": [{"geometrie": box(x, 43.40, x + 0.0005, 43.4005), "revetement_avant": "enrobe",
                   "revetement_apres": "pelouse"}],
        "financements": [{"financeur": "Agence de l'eau", "montant_eur": 40_000.0}],
        "photos": [{"moment": "avant", "chemin": f"photos/op{rang}_avant.png", "legende": "Avant"}],
    }
    saisie.update(autres)
    return saisie


# ----------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def ops(magasin):
    """Comptes des quatre rôles et sept opérations (A = Sète, B = Mèze) ; renvoie leurs identifiants."""
    magasin.creer_utilisateur(EMAILS["administrateur"], "Alice Admin", "administrateur", [], None,
                              auteur="installation")
    magasin.creer_utilisateur(EMAILS["financeur"], "Farid Financeur", "financeur", [], None, auteur="installation")
    magasin.creer_utilisateur(EMAILS["referent_A"], "Camille Sète", "referent", [A], None, auteur="installation")
    magasin.creer_utilisateur(EMAILS["referent_B"], "Dominique Mèze", "referent", [B], None, auteur="installation")
    ids = {
        "a_val": magasin.creer_operation(operation(A, "validee"), "initialisation"),
        "a_nv": magasin.creer_operation(operation(A), "initialisation"),
        "a_cor": magasin.creer_operation(operation(A, "a_corriger"), "initialisation"),
        "b_val": magasin.creer_operation(operation(B, "validee"), "initialisation"),
        "b_nv": magasin.creer_operation(operation(B), "initialisation"),
        "a_sup": magasin.creer_operation(operation(A), "initialisation"),
        "prive": magasin.creer_operation(operation(A, "validee", type_site="prive", maitre_ouvrage="M. Dupont"),
                                         "initialisation"),
    }
    magasin.supprimer_operation(ids["a_sup"], 1, "initialisation")
    return ids


def utilisateur(magasin, role: str) -> Utilisateur:
    return VISITEUR if role == "visiteur" else lire_compte(magasin, EMAILS[role])


def protege(magasin, role: str) -> MagasinProtege:
    return MagasinProtege(magasin, utilisateur(magasin, role), noms_communes=NOMS)


def instantane(magasin) -> tuple:
    """État comparable : nombre de lignes par table et champs clés de chaque opération."""
    table = magasin.lire_operations(inclure_supprimees=True)
    champs = table[["id", "version", "validation", "supprimee", "code_insee", "nom"]].to_dict("records")
    return magasin.compter(), champs


# ------------------------------------------------------------------------------ matrice : écritures

ECRITURES = {
    "creer_A": (lambda p, o: p.creer_operation(operation(A)), {"administrateur", "referent_A"}),
    "creer_B": (lambda p, o: p.creer_operation(operation(B)), {"administrateur", "referent_B"}),
    "modifier_A": (lambda p, o: p.modifier_operation(o["a_nv"], 1, {"nom": "Nouveau nom"}),
                   {"administrateur", "referent_A"}),
    "modifier_A_validee": (lambda p, o: p.modifier_operation(o["a_val"], 1, {"arbres_plantes": 9}),
                           {"administrateur", "referent_A"}),
    "modifier_B": (lambda p, o: p.modifier_operation(o["b_nv"], 1, {"nom": "Nouveau nom"}),
                   {"administrateur", "referent_B"}),
    "deplacer_A_vers_B": (lambda p, o: p.modifier_operation(o["a_nv"], 1, {"code_insee": B}), {"administrateur"}),
    "deplacer_B_vers_A": (lambda p, o: p.modifier_operation(o["b_nv"], 1, {"code_insee": A}), {"administrateur"}),
    "supprimer_A": (lambda p, o: p.supprimer_operation(o["a_nv"], 1), {"administrateur", "referent_A"}),
    "supprimer_A_validee": (lambda p, o: p.supprimer_operation(o["a_val"], 1), {"administrateur"}),
    "supprimer_B": (lambda p, o: p.supprimer_operation(o["b_nv"], 1), {"administrateur", "referent_B"}),
    "valider_A": (lambda p, o: p.valider_operation(o["a_nv"], 1, "validee"), {"administrateur"}),
    "corriger_A": (lambda p, o: p.valider_operation(o["a_nv"], 1, "a_corriger", "Ajoutez les photos."),
                   {"administrateur"}),
    "restaurer_A": (lambda p, o: p.restaurer_operation(o["a_sup"]), {"administrateur"}),
    "gerer_comptes": (lambda p, o: p.creer_compte("nouveau@sete.fr", "Nouveau", "financeur", None, None),
                      {"administrateur"}),
    "desactiver_compte": (lambda p, o: p.desactiver_compte(EMAILS["referent_B"]), {"administrateur"}),
}


@pytest.mark.parametrize("action", list(ECRITURES))
def test_matrice_ecritures_refusees(magasin, ops, action):
    """Chaque rôle non autorisé est refusé, sans rien écrire (tables, versions, journal)."""
    appel, autorises = ECRITURES[action]
    avant = instantane(magasin)
    journal_avant = len(magasin.lire_journal())
    for role in sorted(TOUS - autorises):
        with pytest.raises(ErreurDroits) as erreur:
            appel(protege(magasin, role), ops)
        assert str(erreur.value).startswith(("Vous ne pouvez pas", "Votre rôle", "Connectez-vous",
                                             "Seul un administrateur")), (role, str(erreur.value))
        assert instantane(magasin) == avant, role
        assert len(magasin.lire_journal()) == journal_avant, role


@pytest.mark.parametrize(("action", "role"), [(a, r) for a, (_, autorises) in ECRITURES.items()
                                              for r in ROLES if r in autorises])
def test_matrice_ecritures_permises(magasin, ops, action, role):
    """Chaque rôle autorisé réussit, et le journal porte son adresse."""
    appel, _ = ECRITURES[action]
    journal_avant = len(magasin.lire_journal())
    appel(protege(magasin, role), ops)
    journal = magasin.lire_journal()
    assert len(journal) == journal_avant + 1
    assert journal.iloc[-1]["auteur"] == EMAILS[role]


# ------------------------------------------------------------------------------- matrice : lectures

LECTURES = {
    "lire_validee_A": (lambda p, o: p.lire_operation(o["a_val"]), TOUS),
    "lire_validee_B": (lambda p, o: p.lire_operation(o["b_val"]), TOUS),
    "lire_non_validee_A": (lambda p, o: p.lire_operation(o["a_nv"]), {"administrateur", "financeur", "referent_A"}),
    "lire_a_corriger_A": (lambda p, o: p.lire_operation(o["a_cor"]), {"administrateur", "financeur", "referent_A"}),
    "lire_non_validee_B": (lambda p, o: p.lire_operation(o["b_nv"]), {"administrateur", "financeur", "referent_B"}),
    "lire_supprimee": (lambda p, o: p.lire_operation(o["a_sup"]), {"administrateur"}),
    "lister_supprimees": (lambda p, o: p.lire_operations(inclure_supprimees=True), {"administrateur"}),
    "zones_supprimees": (lambda p, o: p.lire_zones(inclure_supprimees=True), {"administrateur"}),
    "journal_A": (lambda p, o: p.lire_journal(o["a_nv"]), {"administrateur", "financeur", "referent_A"}),
    "journal_B": (lambda p, o: p.lire_journal(o["b_val"]), {"administrateur", "financeur", "referent_B"}),
    "journal_supprimee": (lambda p, o: p.lire_journal(o["a_sup"]), {"administrateur"}),
    "journal_complet": (lambda p, o: p.lire_journal(), TOUS - {"visiteur"}),
    "financements": (lambda p, o: p.lire_financements(), TOUS - {"visiteur"}),
    "photos_non_validee_A": (lambda p, o: p.lire_photos(o["a_nv"]), {"administrateur", "financeur", "referent_A"}),
    "comptes": (lambda p, o: p.lire_utilisateurs(), {"administrateur"}),
}

# Opérations visibles dans les listes (lire_operations, lire_zones, lire_photos) et opérations dont le
# rôle voit les détails (contact, coûts, financements, auteurs).
VISIBLES = {
    "visiteur": {"a_val", "b_val", "prive"},
    "financeur": {"a_val", "a_nv", "a_cor", "b_val", "b_nv", "prive"},
    "referent_A": {"a_val", "a_nv", "a_cor", "b_val", "prive"},
    "referent_B": {"a_val", "b_val", "b_nv", "prive"},
    "administrateur": {"a_val", "a_nv", "a_cor", "b_val", "b_nv", "prive"},
}
DETAILLEES = {
    "visiteur": set(),
    "financeur": VISIBLES["financeur"],
    "referent_A": {"a_val", "a_nv", "a_cor", "prive"},
    "referent_B": {"b_val", "b_nv"},
    "administrateur": VISIBLES["administrateur"],
}


@pytest.mark.parametrize("role", ROLES)
def test_matrice_lectures(magasin, ops, role):
    p = protege(magasin, role)
    avant = instantane(magasin)
    for lecture, (appel, autorises) in LECTURES.items():
        if role in autorises:
            appel(p, ops)
        else:
            with pytest.raises(ErreurDroits):
                appel(p, ops)
                pytest.fail(f"{role} : {lecture} aurait dû être refusé")
    assert instantane(magasin) == avant


@pytest.mark.parametrize("role", ROLES)
def test_listes_et_details_par_role(magasin, ops, role):
    p = protege(magasin, role)
    nom_de = {v: k for k, v in ops.items()}
    table = p.lire_operations()
    assert {nom_de[int(i)] for i in table["id"]} == VISIBLES[role]
    assert {nom_de[int(i)] for i in p.lire_zones()["operation_id"]} == VISIBLES[role]
    assert {nom_de[int(i)] for i in p.lire_photos()["operation_id"]} == VISIBLES[role]

    # Détails : présents (ligne ou dictionnaire) si et seulement si le rôle y a droit.
    for cle in VISIBLES[role]:
        fiche = p.lire_operation(ops[cle])
        voit = cle in DETAILLEES[role]
        assert (fiche.get("contact") == "agent.technique@mairie.fr") == voit, cle
        assert (fiche.get("cout_ht_eur") == 100_000.0) == voit, cle
        assert ("financements" in fiche) == voit, cle
        assert ("cree_par" in fiche) == voit and ("parcelles" in fiche) == voit, cle
        assert fiche["nom"] and fiche["zones"] and fiche["photos"]
        if role != "visiteur":
            ligne = table[table["id"] == ops[cle]].iloc[0]
            assert (ligne["contact"] == "agent.technique@mairie.fr") == voit, cle
            assert (ligne["cout_ht_eur"] == 100_000.0) == voit, cle
            assert (ligne["montant_aides_eur"] == 40_000.0) == voit, cle
            assert (ligne["cree_par"] == "initialisation") == voit, cle
    if role != "visiteur":
        financements = p.lire_financements()
        assert {nom_de[int(i)] for i in financements["operation_id"]} == DETAILLEES[role]


def test_public_sans_colonnes_personnelles_ni_couts(magasin, ops):
    p = protege(magasin, "visiteur")
    table = p.lire_operations()
    assert not set(COLONNES_MASQUEES_PUBLIC) & set(table.columns)
    assert {"nom", "code_insee", "type_site", "surface_zones_m2", "retour_experience", "geometry"} <= set(table.columns)
    assert set(table["validation"]) == {"validee"} and not table["supprimee"].any()
    maitres = dict(zip(table["id"], table["maitre_ouvrage"]))
    assert maitres[ops["a_val"]] == "Ville"
    assert maitres[ops["prive"]] is None or pd.isna(maitres[ops["prive"]])  # site privé : personne physique
    fiche = p.lire_operation(ops["prive"])
    assert fiche["maitre_ouvrage"] is None and "contact" not in fiche and "financements" not in fiche
    assert p.lire_zones()["validation"].eq("validee").all()


def test_referent_voit_hors_commune_en_vue_publique(magasin, ops):
    table = protege(magasin, "referent_B").lire_operations()
    ligne = table[table["id"] == ops["prive"]].iloc[0]
    assert ligne["maitre_ouvrage"] is None and ligne["contact"] is None and np.isnan(ligne["cout_ht_eur"])
    assert ligne["parcelles"] is None and ligne["commentaire_validation"] is None
    propre = table[table["id"] == ops["b_nv"]].iloc[0]
    assert propre["parcelles"] == [f"{B}000AB0123"] and propre["cout_ht_eur"] == 100_000.0


# ------------------------------------------------------------------------- appels forgés, messages


def test_message_commune_exact(magasin, ops):
    with pytest.raises(ErreurDroits) as erreur:
        protege(magasin, "referent_A").modifier_operation(ops["b_nv"], 1, {"nom": "Piratage"})
    assert str(erreur.value) == ("Vous ne pouvez pas modifier une opération de Mèze (34157) : votre compte est "
                                 "rattaché à Sète (34301).")
    assert isinstance(erreur.value, ErreurDonnees) and erreur.value.action == "modifier"


def test_deplacement_refuse_dans_les_deux_sens(magasin, ops):
    avant = instantane(magasin)
    with pytest.raises(ErreurDroits, match=r"déplacer une opération vers Mèze \(34157\)"):
        protege(magasin, "referent_A").modifier_operation(ops["a_nv"], 1, {"code_insee": B, "nom": "X"})
    with pytest.raises(ErreurDroits, match=r"modifier une opération de Sète \(34301\)"):
        protege(magasin, "referent_B").modifier_operation(ops["a_nv"], 1, {"code_insee": B})
    with pytest.raises(ErreurDroits, match="créer une opération de Mèze"):
        protege(magasin, "referent_A").creer_operation(operation(" 34157 "))
    assert instantane(magasin) == avant


def test_referent_ne_valide_pas_lui_meme(magasin, ops):
    p = protege(magasin, "referent_A")
    avant = instantane(magasin)
    for saisie in (operation(A, "validee"), operation(A, "a_corriger"),
                   operation(A, commentaire_validation="Validé par moi"),
                   operation(A, cree_par="quelqu.un@autre.fr"), operation(A, cree_le="2020-01-01")):
        with pytest.raises(ErreurDroits):
            p.creer_operation(saisie)
    for modifications in ({"validation": "validee"}, {"validation": "a_corriger", "commentaire_validation": "x"},
                          {"commentaire_validation": "Vu"}):
        with pytest.raises(ErreurDroits):
            p.modifier_operation(ops["a_nv"], 1, modifications)
    with pytest.raises(ErreurDroits):  # dévalider sans rien changer d'autre
        p.modifier_operation(ops["a_val"], 1, {"validation": "a_valider"})
    assert instantane(magasin) == avant
    ident = p.creer_operation(operation(A, "a_valider", cree_par=EMAILS["referent_A"]))
    assert magasin.lire_operation(ident)["validation"] == "a_valider"


def test_modifier_une_operation_validee_la_renvoie_a_valider(magasin, ops):
    p = protege(magasin, "referent_A")
    version = p.modifier_operation(ops["a_val"], 1, {"nom": "Cour rénovée"})
    apres = magasin.lire_operation(ops["a_val"])
    assert version == 2 and apres["validation"] == "a_valider" and apres["nom"] == "Cour rénovée"
    ligne = magasin.lire_journal(ops["a_val"]).iloc[-1]
    assert ligne["auteur"] == EMAILS["referent_A"] and ligne["action"] == "modification"
    assert ligne["diff"]["validation"] == ["validee", "a_valider"]
    assert ops["a_val"] not in set(protege(magasin, "visiteur").lire_operations()["id"])

    # Une opération « à corriger » corrigée repasse aussi « à valider » (le commentaire reste visible).
    p.modifier_operation(ops["a_cor"], 1, {"surface_declaree_m2": 420.0})
    corrigee = magasin.lire_operation(ops["a_cor"])
    assert corrigee["validation"] == "a_valider" and corrigee["commentaire_validation"]


def test_fiche_relue_enregistree_sans_changement_reste_validee(magasin, ops):
    p = protege(magasin, "referent_A")
    fiche = p.lire_operation(ops["a_val"])
    assert p.modifier_operation(ops["a_val"], fiche["version"], fiche) == 1
    assert magasin.lire_operation(ops["a_val"])["validation"] == "validee"
    fiche["nom"] = "Nom corrigé"  # la fiche porte encore validation = validee : elle repasse à valider
    assert p.modifier_operation(ops["a_val"], np.int64(1), fiche) == 2
    assert magasin.lire_operation(ops["a_val"])["validation"] == "a_valider"


def test_administrateur_modifie_sans_devalider(magasin, ops):
    protege(magasin, "administrateur").modifier_operation(ops["a_val"], 1, {"nom": "Corrigé par le syndicat"})
    assert magasin.lire_operation(ops["a_val"])["validation"] == "validee"


def test_validation_journalisee(magasin, ops):
    p = protege(magasin, "administrateur")
    assert p.valider_operation(ops["a_nv"], 1, "validee", "  ") == 2
    ligne = magasin.lire_journal(ops["a_nv"]).iloc[-1]
    assert (ligne["action"], ligne["auteur"]) == ("validation", EMAILS["administrateur"])
    assert ligne["diff"] == {"validation": ["a_valider", "validee"]}
    assert ops["a_nv"] in set(protege(magasin, "visiteur").lire_operations()["id"])
    p.valider_operation(ops["a_nv"], 2, "a_corriger", "Ajoutez la photo après travaux.")
    ligne = magasin.lire_journal(ops["a_nv"]).iloc[-1]
    assert ligne["action"] == "validation"
    assert ligne["diff"]["commentaire_validation"] == [None, "Ajoutez la photo après travaux."]


@pytest.mark.parametrize(("decision", "commentaire", "motif"), [
    ("a_corriger", None, "expliquez"),
    ("a_corriger", "   ", "expliquez"),
    ("refusee", "x", "inconnue"),
])
def test_validation_invalide_rien_ecrit(magasin, ops, decision, commentaire, motif):
    avant = instantane(magasin)
    with pytest.raises(ErreurDonnees, match=motif):
        protege(magasin, "administrateur").valider_operation(ops["a_nv"], 1, decision, commentaire)
    assert instantane(magasin) == avant


def test_suppression_puis_restauration(magasin, ops):
    protege(magasin, "referent_A").supprimer_operation(ops["a_cor"], 1)
    assert ops["a_cor"] not in set(protege(magasin, "referent_A").lire_operations()["id"])
    with pytest.raises(ErreurDroits, match="restaurer"):
        protege(magasin, "referent_A").restaurer_operation(ops["a_cor"])
    admin = protege(magasin, "administrateur")
    assert ops["a_cor"] in set(admin.lire_operations(inclure_supprimees=True)["id"])
    admin.restaurer_operation(ops["a_cor"])
    ligne = magasin.lire_journal(ops["a_cor"]).iloc[-1]
    assert (ligne["action"], ligne["auteur"]) == ("restauration", EMAILS["administrateur"])
    assert not magasin.lire_operation(ops["a_cor"])["supprimee"]


def test_version_perimee_refusee_avant_ecriture(magasin, ops):
    p = protege(magasin, "referent_A")
    avant = instantane(magasin)
    with pytest.raises(ConflitVersion):
        p.modifier_operation(ops["a_nv"], 2, {"nom": "X"})
    with pytest.raises(ConflitVersion):
        p.supprimer_operation(ops["a_nv"], 2)
    assert instantane(magasin) == avant


def test_compte_relu_a_chaque_appel(magasin, ops):
    p = protege(magasin, "referent_A")
    magasin.modifier_utilisateur(EMAILS["referent_A"], {"communes": [B]}, EMAILS["administrateur"])
    with pytest.raises(ErreurDroits, match="rattaché à Mèze"):
        p.modifier_operation(ops["a_nv"], 1, {"nom": "X"})
    p.modifier_operation(ops["b_nv"], 1, {"nom": "Mèze, désormais"})
    magasin.modifier_utilisateur(EMAILS["referent_A"], {"actif": False}, EMAILS["administrateur"])
    assert p.utilisateur == VISITEUR
    with pytest.raises(ErreurDroits, match="Connectez-vous"):
        p.creer_operation(operation(B))
    assert set(p.lire_operations()["validation"]) == {"validee"}


def test_journal_filtre(magasin, ops):
    journal = magasin.lire_journal()
    ref_a = protege(magasin, "referent_A").lire_journal()
    assert set(ref_a["table_cible"]) == {"operation"}
    assert set(ref_a["enregistrement_id"]) == {ops[k] for k in ("a_val", "a_nv", "a_cor", "prive")}
    financeur = protege(magasin, "financeur").lire_journal()
    assert set(financeur["table_cible"]) == {"operation"}
    assert set(financeur["enregistrement_id"]) == {ops[k] for k in VISIBLES["financeur"]}
    assert len(protege(magasin, "administrateur").lire_journal()) == len(journal)


# ------------------------------------------------------------------------- règles sans magasin


REF_A = Utilisateur("ref.a@sete.fr", "Camille", "referent", frozenset({A}))
REF_AB = Utilisateur("ref.ab@thau.fr", "Claude", "referent", frozenset({A, B}))
FINANCEUR = Utilisateur("f@eau.fr", "Farid", "financeur")
ADMIN = Utilisateur("admin@thau.fr", "Alice", "administrateur")


@pytest.mark.parametrize(("u", "action", "code", "op", "attendu"), [
    (VISITEUR, "lire_validees", None, None, True),
    (VISITEUR, "lire", None, {"code_insee": A, "validation": "validee"}, True),
    (VISITEUR, "lire", None, {"code_insee": A, "validation": "a_valider"}, False),
    (VISITEUR, "lire_details", None, None, False),
    (VISITEUR, "creer", A, None, False),
    (FINANCEUR, "lire_non_validees", B, None, True),
    (FINANCEUR, "lire_details", B, None, True),
    (FINANCEUR, "lire", None, {"code_insee": A, "supprimee": True}, False),
    (FINANCEUR, "creer", A, None, False),
    (FINANCEUR, "modifier", None, {"code_insee": A}, False),
    (FINANCEUR, "valider", None, None, False),
    (REF_A, "creer", None, None, True),
    (REF_A, "creer", A, None, True),
    (REF_A, "creer", B, None, False),
    (REF_A, "lire_details", B, None, False),
    (REF_A, "modifier", None, {"code_insee": A, "validation": "validee"}, True),
    (REF_A, "modifier", B, {"code_insee": A, "validation": "a_valider"}, False),
    (REF_A, "supprimer", None, {"code_insee": A, "validation": "a_corriger"}, True),
    (REF_A, "supprimer", None, {"code_insee": A, "validation": "validee"}, False),
    (REF_A, "restaurer", None, {"code_insee": A}, False),
    (REF_A, "valider", A, None, False),
    (REF_A, "demander_correction", A, None, False),
    (REF_A, "gerer_comptes", None, None, False),
    (REF_AB, "modifier", B, {"code_insee": A}, True),
    (ADMIN, "restaurer", B, {"code_insee": B, "supprimee": True}, True),
    (ADMIN, "gerer_parametres", None, None, True),
    (Utilisateur("x@thau.fr", "X", "administrateur", actif=False), "lire_details", None, None, False),
    (Utilisateur("x@thau.fr", "X", "maire"), "lire_details", None, None, False),
])
def test_peut(u, action, code, op, attendu):
    assert peut(u, action, code, op) is attendu
    if attendu:
        exiger(u, action, code, op, NOMS)
    else:
        with pytest.raises(ErreurDroits):
            exiger(u, action, code, op, NOMS)


def test_messages():
    with pytest.raises(ErreurDroits, match=r"^Vous ne pouvez pas créer une opération de Frontignan \(34108\) : "
                                           r"votre compte est rattaché à Mèze \(34157\) et Sète \(34301\)\.$"):
        exiger(REF_AB, "creer", "34108", noms_communes=NOMS)
    with pytest.raises(ErreurDroits, match=r"Votre rôle \(Financeur\) ne permet pas de modifier une opération"):
        exiger(FINANCEUR, "modifier", A, noms_communes=NOMS)
    with pytest.raises(ErreurDroits, match="réservé aux administrateurs"):
        exiger(REF_A, "valider", A, noms_communes=NOMS)
    with pytest.raises(ErreurDroits, match=r"supprimer l'opération n° 12 : elle est validée"):
        exiger(REF_A, "supprimer", operation={"id": 12, "code_insee": A, "validation": "validee"})
    with pytest.raises(ErreurDroits, match="^Connectez-vous pour créer une opération"):
        exiger(VISITEUR, "creer", A)
    with pytest.raises(ErreurDroits, match=r"rattaché à 34301\.$"):
        exiger(REF_A, "creer", "99999", noms_communes={})  # commune sans nom connu : le code seul
    with pytest.raises(ErreurDonnees, match="Action « voler » inconnue"):
        peut(ADMIN, "voler")


def test_noms_des_communes(tmp_path, monkeypatch):
    monkeypatch.setenv("DESIMPER_DONNEES", str(tmp_path))
    noms = lire_noms_communes()  # pas de couche : liste de démonstration du bassin de Thau
    assert noms[A] == "Sète" and noms[B] == "Mèze"
    with pytest.raises(ErreurDroits, match=r"de Mèze \(34157\) : votre compte est rattaché à Sète \(34301\)"):
        exiger(REF_A, "modifier", operation={"code_insee": B})
    pd.DataFrame({"code_insee": [A], "nom": ["Sète (couche)"]}).to_parquet(tmp_path / "communes.parquet")
    assert lire_noms_communes()[A] == "Sète (couche)"
    assert droits.lire_noms_communes(tmp_path / "absent")[A] == "Sète"


def test_droits_verifies_sur_la_version_ecrite(magasin, ops, monkeypatch):
    """Une version attendue « devinée » ne permet pas d'écrire sur un état autre que celui vérifié."""
    lire = magasin.lire_operation

    def lire_puis_deplacer(operation_id):
        lue = lire(operation_id)  # état vérifié : version 1, à Sète
        magasin.modifier_operation(operation_id, 1, {"code_insee": B}, "admin@bassin-thau.fr")  # version 2, à Mèze
        return lue

    monkeypatch.setattr(magasin, "lire_operation", lire_puis_deplacer)
    with pytest.raises(ConflitVersion):
        protege(magasin, "referent_A").modifier_operation(ops["a_nv"], 2, {"nom": "Écrit sur Mèze ?"})
    monkeypatch.undo()
    apres = magasin.lire_operation(ops["a_nv"])
    assert (apres["code_insee"], apres["version"]) == (B, 2) and apres["nom"] != "Écrit sur Mèze ?"


def test_peut_avec_une_ligne_de_table(magasin, ops):
    table = magasin.lire_operations()
    ligne = table[table["id"] == ops["a_val"]].iloc[0]
    assert peut(REF_A, "modifier", operation=ligne) and not peut(REF_A, "supprimer", operation=ligne)
    assert Utilisateur("x@y.fr", "X", "referent", ["34301"]).communes == frozenset({A})  # liste acceptée


def test_referent_ne_peut_pas_dessiner_chez_le_voisin_en_declarant_sa_commune(dossier_demo_copie, monkeypatch):
    """Appel forgé à la couche de données : code INSEE de sa commune, zone dans la commune voisine."""
    import geopandas as gpd
    from shapely.geometry import box

    from donnees.comptes import authentifier, creer_compte
    from donnees.config import url_base
    from donnees.droits import ErreurDroits, MagasinProtege

    monkeypatch.setenv("DESIMPER_DONNEES", str(dossier_demo_copie))
    magasin = Magasin(url_base(dossier_demo_copie))
    creer_compte(magasin, "ref@sete.fr", "Réf", "referent", ["34301"], "une phrase de passe solide", auteur="test")
    facade = MagasinProtege(magasin, authentifier(magasin, "ref@sete.fr", "une phrase de passe solide"))
    communes = gpd.read_parquet(dossier_demo_copie / "communes.parquet").to_crs(2154).set_index("code_insee")

    def zone_dans(code):
        point = communes.loc[code, "geometry"].representative_point()
        return gpd.GeoSeries([box(point.x, point.y, point.x + 30, point.y + 20)], crs=2154).to_crs(4326).iloc[0]

    operation = {"code_insee": "34301", "nom": "Cour forgée", "type_site": "cour_ecole", "statut": "programmee",
                 "zones": [{"geometrie": zone_dans("34157"), "revetement_avant": "enrobe",
                            "revetement_apres": "pelouse"}]}
    avant = len(magasin.lire_operations())
    with pytest.raises(ErreurDroits, match="hors de la commune"):
        facade.creer_operation(operation)
    assert len(magasin.lire_operations()) == avant
    ident = facade.creer_operation({**operation, "zones": [{**operation["zones"][0], "geometrie": zone_dans("34301")}]})
    version = magasin.lire_operation(ident)["version"]
    with pytest.raises(ErreurDroits, match="hors de la commune"):
        facade.modifier_operation(ident, version, {"zones": operation["zones"]})
    assert magasin.lire_operation(ident)["version"] == version
    magasin.fermer()


# ----------------------------------------------------------- financements : une seule règle de lecture

REF_B = Utilisateur("ref.b@meze.fr", "Dominique", "referent", frozenset({B}))
DESACTIVE = Utilisateur("ancien@thau.fr", "Ancien", "financeur", actif=False)
# Opérations 1 à 5 (la 5 supprimée) ; le financement 15 cite une opération absente de la table.
OPERATIONS_FINANCEES = pd.DataFrame({
    "id": [1, 2, 3, 4, 5], "code_insee": [A, A, B, B, A],
    "validation": ["validee", "a_valider", "validee", "a_corriger", "a_valider"],
    "supprimee": [False, False, False, False, True]})
FINANCEMENTS = pd.DataFrame({
    "financement_id": [10, 11, 12, 13, 14, 15], "operation_id": [1, 2, 3, 4, 5, 99],
    "financeur": ["Agence de l'eau", "Région", "Agence de l'eau", "Département", "Région", "État"],
    "montant_eur": [40_000.0, 10_000.0, 25_000.0, 5_000.0, 1_000.0, 2_000.0],
    "code_insee": [A, A, B, B, A, B]})


@pytest.mark.parametrize(("u", "avec_operations", "sans_operations"), [
    (VISITEUR, set(), set()),
    (DESACTIVE, set(), set()),
    (FINANCEUR, {10, 11, 12, 13}, {10, 11, 12, 13, 14, 15}),
    (REF_A, {10, 11}, {10, 11, 14}),
    (REF_B, {12, 13}, {12, 13, 15}),
    (REF_AB, {10, 11, 12, 13}, {10, 11, 12, 13, 14, 15}),
    (ADMIN, {10, 11, 12, 13, 14}, {10, 11, 12, 13, 14, 15}),
], ids=["public", "desactive", "financeur", "referent_sa_commune", "referent_autre_commune", "referent_deux",
        "administrateur"])
def test_filtrer_financements_par_role(u, avec_operations, sans_operations):
    """Public : aucun ; référent : ceux de ses communes ; financeur : tous sauf supprimées ; administrateur :
    tous. Les lignes gardées et leurs colonnes sont intactes ; les tables d'entrée ne sont pas modifiées."""
    avant = FINANCEMENTS.copy(), OPERATIONS_FINANCEES.copy()
    gardes = filtrer_financements(u, FINANCEMENTS, OPERATIONS_FINANCEES)
    assert set(gardes["financement_id"]) == avec_operations
    assert list(gardes.columns) == list(FINANCEMENTS.columns)
    pd.testing.assert_frame_equal(gardes, FINANCEMENTS[FINANCEMENTS["financement_id"].isin(avec_operations)])
    assert set(filtrer_financements(u, FINANCEMENTS)["financement_id"]) == sans_operations
    pd.testing.assert_frame_equal(FINANCEMENTS, avant[0])
    pd.testing.assert_frame_equal(OPERATIONS_FINANCEES, avant[1])


@pytest.mark.parametrize("u", [VISITEUR, DESACTIVE, FINANCEUR, REF_A, REF_B, REF_AB, ADMIN])
def test_filtrer_financements_meme_regle_que_peut(u):
    """Un financement d'une opération non supprimée est lu si et seulement si peut(…, "lire_details", opération)."""
    gardes = set(filtrer_financements(u, FINANCEMENTS, OPERATIONS_FINANCEES)["operation_id"])
    for _, operation in OPERATIONS_FINANCEES[~OPERATIONS_FINANCEES["supprimee"]].iterrows():
        assert (int(operation["id"]) in gardes) == peut(u, "lire_details", operation=operation), (u, operation["id"])


def test_filtrer_financements_tables_vides():
    vides = FINANCEMENTS.iloc[:0]
    assert filtrer_financements(ADMIN, vides, OPERATIONS_FINANCEES).empty
    assert filtrer_financements(REF_A, FINANCEMENTS, OPERATIONS_FINANCEES.iloc[:0]).empty
    assert list(filtrer_financements(VISITEUR, FINANCEMENTS).columns) == list(FINANCEMENTS.columns)


@pytest.mark.parametrize("role", ROLES)
def test_filtrer_financements_comme_la_facade(magasin, ops, role):
    """Les financements lus par les pages (opérations déjà filtrées) sont ceux de la façade protégée."""
    u = utilisateur(magasin, role)
    nom_de = {v: k for k, v in ops.items()}
    lus = filtrer_financements(u, magasin.lire_financements(), filtrer_operations(u, magasin.lire_operations()))
    assert {nom_de[int(i)] for i in lus["operation_id"]} == DETAILLEES[role]
    if role != "visiteur":
        facade = protege(magasin, role).lire_financements()
        assert sorted(facade["financement_id"]) == sorted(lus["financement_id"])


# -------------------------------------------------------------------- questions des pages aux droits


@pytest.mark.parametrize(("u", "public"), [(VISITEUR, True), (DESACTIVE, True), (FINANCEUR, False), (REF_A, False),
                                           (ADMIN, False), (Utilisateur("x@thau.fr", "X", "maire"), True)])
def test_est_public(u, public):
    assert est_public(u) is public
    assert peut(u, "lire_details") is not public  # la vue publique est celle qui ne voit aucun détail


@pytest.mark.parametrize(("u", "action", "attendu"), [
    (VISITEUR, "creer", frozenset()),
    (FINANCEUR, "creer", frozenset()),
    (FINANCEUR, "lire_details", None),
    (REF_AB, "creer", frozenset({A, B})),
    (REF_A, "modifier", frozenset({A})),
    (REF_A, "lire_details", frozenset({A})),
    (REF_A, "valider", frozenset()),
    (REF_A, "lire_validees", None),
    (ADMIN, "creer", None),
    (ADMIN, "valider", None),
    (Utilisateur("r@thau.fr", "R", "referent"), "creer", frozenset()),
])
def test_lire_perimetre(u, action, attendu):
    """Périmètre d'une action : None (partout), ses communes, ou aucune ; cohérent avec peut()."""
    perimetre = lire_perimetre(u, action)
    assert perimetre == attendu
    for code in (A, B, "34108"):
        assert peut(u, action, code, noms_communes=NOMS) is (perimetre is None or code in perimetre), code


def test_perimetre_de_la_facade_relu_dans_la_base(magasin, ops):
    assert protege(magasin, "referent_A").lire_perimetre("creer") == frozenset({A})
    assert protege(magasin, "administrateur").lire_perimetre("creer") is None
    magasin.modifier_utilisateur(EMAILS["referent_A"], {"actif": False}, "test")
    assert protege(magasin, "referent_A").lire_perimetre("creer") == frozenset()
