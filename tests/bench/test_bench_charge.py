"""Banc de charge (make bench) : vrais clients websocket Streamlit, 1, 10 et 20 utilisateurs simultanés, 1 et 2
processus derrière nginx, démonstration complète (graine 42) dans une base PostGIS commune.

Chaque utilisateur ouvre un onglet (GET de la page par le mandataire : cookie de route ; puis websocket
``/_stcore/stream``, une session Streamlit) et enchaîne sans pause le parcours vue d'ensemble → carte →
commune (une commune différente par utilisateur) → indicateurs → fiche (une opération différente), un
utilisateur sur deux connecté (financeur, cookie de session), les autres publics. Temps d'une vue : de l'envoi
de ``rerun_script`` à ``script_finished``, mesuré côté client (tests/client_streamlit.py).

Rapportés par configuration : p50, p95 et maximum des temps de vue, débit (vues/min), erreurs (exception
affichée, script interrompu, délai, session connectée non reconnue), CPU par vue (temps CPU des processus
serveur pendant la mesure / nombre de vues, /proc), mémoire résidente des serveurs, charge de la machine
(/proc/loadavg) avant et après. Résultats : tests/sorties/bench_charge.json et bench_charge.md.

Cible de l'issue 13 : 20 utilisateurs, p95 ≤ 5 s sur 2 cœurs avec 2 processus, 0 erreur
(:func:`test_cible_charge`, séparé de la mesure). Les processus sont chauffés avant la mesure (un parcours
public et un connecté sur chacun) : on mesure le régime établi, pas le premier calcul des modèles.
``DESIMPER_BENCH_TOURS`` : parcours par utilisateur (1 par défaut ; 3 pour l'utilisateur seul) ;
``DESIMPER_BENCH_UTILISATEURS`` (« 1,10,20 ») et ``DESIMPER_BENCH_PROCESSUS`` (« 1,2 ») : essais courts.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import time
from pathlib import Path

import pytest

from client_streamlit import DELAI_VUE_S, ClientStreamlit, Vue, executer, lire_cookies_http
from multiprocessus import (
    compter_lignes_journal,
    copier_magasin,
    exiger_nginx,
    lancer_grappe,
    lire_cpu_famille_s,
    lire_cpu_s,
    lire_rss_mo,
    repartir_onglets,
)

RACINE = Path(__file__).resolve().parents[2]
SORTIES = RACINE / "tests" / "sorties"
UTILISATEURS = tuple(int(n) for n in os.environ.get("DESIMPER_BENCH_UTILISATEURS", "1,10,20").split(","))
PROCESSUS = tuple(int(n) for n in os.environ.get("DESIMPER_BENCH_PROCESSUS", "1,2").split(","))
CIBLE = {"utilisateurs": 20, "processus": 2, "p95_s": 5.0, "erreurs": 0}
TOURS = int(os.environ.get("DESIMPER_BENCH_TOURS", "1"))
TOURS_UTILISATEUR_SEUL = 3  # 15 vues pour un p95 qui ait un sens
ECART_ARRIVEES_S = 0.1  # arrivée échelonnée des utilisateurs (tous présents en 2 s pour 20)
MDP = "mesure de charge sur deux coeurs, sans pause"
SEUIL_REPOS = 0.05  # part d'un cœur sous laquelle les serveurs sont au repos
DELAI_CHAUFFE_S = 900  # premier passage d'un processus : lecture des couches et des modèles en cache disque
RESULTATS: dict = {}


def _charge() -> str:
    """Charge de la machine (1, 5, 15 min) : les autres processus faussent les temps ; notée avec chaque mesure."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _percentile(valeurs: list[float], quantile: float) -> float:
    ordonnees = sorted(valeurs)
    rang = quantile * (len(ordonnees) - 1)
    bas = int(rang)
    haut = min(bas + 1, len(ordonnees) - 1)
    return ordonnees[bas] + (ordonnees[haut] - ordonnees[bas]) * (rang - bas)


@pytest.fixture(scope="module")
def territoire_bench(demo_complete, tmp_path_factory, fabrique_base_postgresql):
    """Copie de la démonstration complète (les serveurs écrivent leurs caches), registre copié dans PostGIS,
    comptes et sessions des utilisateurs connectés ; renvoie (dossier, url, jetons, ids d'opérations, codes)."""
    from donnees.comptes import creer_compte
    from donnees.magasin import Magasin
    from donnees.referentiel import lire_territoire
    from donnees.sessions import ouvrir_session
    from services.modeles import calculer_modeles_territoire

    exiger_nginx()
    dossier = tmp_path_factory.mktemp("charge") / "demo"
    shutil.copytree(demo_complete, dossier)
    url = fabrique_base_postgresql("bench_charge")
    copier_magasin(f"sqlite:///{dossier / 'desimper.sqlite'}", url)
    magasin = Magasin(url)
    try:
        financeur = creer_compte(magasin, "banc@agence.fr", "Agence Banc", "financeur", [], MDP, auteur="banc")
        jetons = [ouvrir_session(magasin, financeur) for _ in range(max(UTILISATEURS) + 4)]
        operations = magasin.lire_operations()
    finally:
        magasin.fermer()
    with pytest.MonkeyPatch.context() as patch:  # comme `desimper demo` : modèles chaleur et eau en cache disque
        patch.setenv("DESIMPER_BASE_URL", url)
        calculer_modeles_territoire(dossier)
    ids = sorted(operations.loc[operations["validation"] == "validee", "id"].astype(int))
    return dossier, url, jetons, ids, list(lire_territoire(dossier)["codes_insee"])


def _parcours(numero: int, ids: list[int], codes: list[str]) -> list[tuple[str, str]]:
    return [("vue_ensemble", ""), ("carte", ""), ("commune", f"code={codes[numero % len(codes)]}"),
            ("indicateurs", ""), ("fiche", f"id={ids[(numero * 7) % len(ids)]}")]


async def _utilisateur(url: str, numero: int, jeton: str | None, pages: list, vues: list, erreurs: list,
                       ouvertures: list, delai_s: float = DELAI_VUE_S) -> None:
    """Un onglet : page HTML (cookie de route), websocket, parcours enchaîné ; vues et erreurs ajoutées."""
    await asyncio.sleep(numero * ECART_ARRIVEES_S)
    try:
        debut = time.perf_counter()
        cookies = await asyncio.to_thread(lire_cookies_http, url + "/", {"desimper_session": jeton} if jeton else {},
                                          delai_s)
        async with ClientStreamlit(url, cookies, delai_s) as onglet:
            ouvertures.append(time.perf_counter() - debut)  # page HTML puis websocket ouvert
            for page, parametres in pages:
                vue = await onglet.ouvrir(page, parametres)
                vues.append(vue)
                if vue.en_erreur:
                    erreurs.append(f"{page}?{parametres} : {vue.statut} {vue.exceptions[:1]}")
                elif jeton and not vue.contient("Connecté : Agence Banc"):
                    erreurs.append(f"{page}?{parametres} : session connectée non reconnue")
    except (OSError, TimeoutError) as exc:  # connexion refusée ou coupée : une erreur de la mesure
        erreurs.append(f"utilisateur {numero} : {type(exc).__name__} : {exc}")


async def _faire_parcourir(url: str, nombre: int, territoire, tours: int,
                           delai_s: float = DELAI_VUE_S) -> tuple[list[Vue], list[str], list[float]]:
    _, _, jetons, ids, codes = territoire
    vues: list[Vue] = []
    erreurs: list[str] = []
    ouvertures: list[float] = []
    await asyncio.gather(*(
        _utilisateur(url, i, jetons[i] if i % 2 else None, _parcours(i, ids, codes) * tours, vues, erreurs,
                     ouvertures, delai_s)
        for i in range(nombre)))
    return vues, erreurs, ouvertures


def _chauffer(grappe, territoire) -> None:
    """Un parcours public et un connecté sur chaque processus (directement) : modèles et caches prêts ; puis
    attente du repos des serveurs (l'état du modèle de chaleur se prépare en arrière-plan après la première
    vue, services.modeles) pour ne pas compter ce calcul unique dans la mesure."""
    for url in grappe.urls_processus:
        _, erreurs, _ = executer(_faire_parcourir(url, 2, territoire, 1, DELAI_CHAUFFE_S))
        assert not erreurs, erreurs
    _attendre_repos([serveur.pid for serveur in grappe.serveurs])


def _attendre_repos(pids: list[int], delai_s: float = DELAI_CHAUFFE_S) -> None:
    """Attend que les serveurs consomment moins de ``SEUIL_REPOS`` d'un cœur pendant une seconde."""
    limite = time.monotonic() + delai_s
    while time.monotonic() < limite:
        avant = sum(lire_cpu_s(pid) for pid in pids)
        time.sleep(1)
        if sum(lire_cpu_s(pid) for pid in pids) - avant < SEUIL_REPOS:
            return


def _mesurer(grappe, nombre: int, territoire) -> dict:
    pids = [serveur.pid for serveur in grappe.serveurs]
    tours = TOURS_UTILISATEUR_SEUL if nombre == 1 else TOURS
    charge_avant = _charge()
    cpu_avant = [lire_cpu_s(pid) for pid in pids]
    cpu_nginx = lire_cpu_famille_s(grappe.nginx.pid)  # maître et ouvrier
    ligne_journal = compter_lignes_journal(grappe)
    debut = time.perf_counter()
    vues, erreurs, ouvertures = executer(_faire_parcourir(grappe.url, nombre, territoire, tours))
    duree = time.perf_counter() - debut
    cpu = sum(lire_cpu_s(pid) for pid in pids) - sum(cpu_avant)
    temps = [vue.duree_s for vue in vues]
    par_page = {}
    for vue in vues:
        par_page.setdefault(vue.page, []).append(vue.duree_s)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "processus": len(pids),
        "utilisateurs": nombre, "parcours_par_utilisateur": tours, "vues": len(vues),
        "erreurs": len(erreurs), "detail_erreurs": erreurs[:10],
        "p50_s": round(statistics.median(temps), 2), "p95_s": round(_percentile(temps, 0.95), 2),
        "max_s": round(max(temps), 2), "ouverture_onglet_max_s": round(max(ouvertures, default=0), 2),
        "duree_s": round(duree, 1), "debit_vues_min": round(len(vues) / duree * 60, 1),
        "cpu_par_vue_s": round(cpu / len(vues), 3),
        "cpu_nginx_s": round(lire_cpu_famille_s(grappe.nginx.pid) - cpu_nginx, 2),
        "rss_serveurs_mo": [round(lire_rss_mo(pid)) for pid in pids],
        "onglets_par_processus": list(repartir_onglets(grappe, ligne_journal).values()),
        "p50_par_page_s": {page: round(statistics.median(t), 2) for page, t in par_page.items()},
        "charge_avant": charge_avant, "charge_apres": _charge(),
    }


# Colonnes du résumé lisible : (titre, clé de la mesure).
COLONNES_RESUME = [("processus", "processus"), ("utilisateurs", "utilisateurs"), ("vues", "vues"),
                   ("erreurs", "erreurs"), ("p50 (s)", "p50_s"), ("p95 (s)", "p95_s"), ("max (s)", "max_s"),
                   ("ouverture d'onglet max (s)", "ouverture_onglet_max_s"), ("vues/min", "debit_vues_min"),
                   ("CPU/vue (s)", "cpu_par_vue_s"), ("RSS serveurs (Mo)", "rss_serveurs_mo"),
                   ("onglets par processus", "onglets_par_processus"), ("charge avant", "charge_avant"),
                   ("charge après", "charge_apres"), ("date", "date")]


def _cellule(valeur) -> str:
    return " + ".join(map(str, valeur)) if isinstance(valeur, list) else str(valeur)


def _ecrire_resultats() -> None:
    SORTIES.mkdir(parents=True, exist_ok=True)
    chemin = SORTIES / "bench_charge.json"
    anciennes = json.loads(chemin.read_text(encoding="utf-8")).get("mesures", []) if chemin.exists() else []
    # une configuration non relancée garde sa dernière mesure (avec sa date et la charge de la machine)
    toutes = {(m["processus"], m["utilisateurs"]): m for m in anciennes} | RESULTATS
    mesures = [toutes[cle] for cle in sorted(toutes)]
    document = {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "coeurs": os.cpu_count(),
                "cible": CIBLE, "mesures": mesures}
    chemin.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    lignes = [f"# Banc de charge ({document['date']}, {document['coeurs']} cœurs)", "",
              "| " + " | ".join(titre for titre, _ in COLONNES_RESUME) + " |",
              "|" + "---|" * len(COLONNES_RESUME)]
    lignes += ["| " + " | ".join(_cellule(m.get(cle, "")) for _, cle in COLONNES_RESUME) + " |" for m in mesures]
    lignes += ["", f"Cible : {CIBLE['utilisateurs']} utilisateurs, {CIBLE['processus']} processus, "
               f"p95 ≤ {CIBLE['p95_s']} s, {CIBLE['erreurs']} erreur."]
    (SORTIES / "bench_charge.md").write_text("\n".join(lignes) + "\n", encoding="utf-8")
    print("\n" + "\n".join(lignes))


@pytest.mark.parametrize("processus", PROCESSUS)
def test_charge(processus, territoire_bench, tmp_path):
    dossier, url, *_ = territoire_bench
    grappe = lancer_grappe(processus, dossier, url, tmp_path / "mandataire")
    try:
        _chauffer(grappe, territoire_bench)
        for nombre in UTILISATEURS:
            RESULTATS[(processus, nombre)] = _mesurer(grappe, nombre, territoire_bench)
            _ecrire_resultats()
    finally:
        grappe.arreter()
    for nombre in UTILISATEURS:
        mesure = RESULTATS[(processus, nombre)]
        assert mesure["erreurs"] == 0, mesure["detail_erreurs"]
        assert mesure["vues"] == nombre * 5 * (TOURS_UTILISATEUR_SEUL if nombre == 1 else TOURS)


def test_cible_charge():
    """Cible de l'issue : 20 utilisateurs sur 2 processus, p95 ≤ 5 s, 0 erreur (après test_charge)."""
    mesure = RESULTATS.get((CIBLE["processus"], CIBLE["utilisateurs"]))
    if mesure is None:
        pytest.skip("mesure à 2 processus et 20 utilisateurs absente (test_charge non lancé)")
    assert mesure["erreurs"] == CIBLE["erreurs"] and mesure["p95_s"] <= CIBLE["p95_s"], (
        f"p95 {mesure['p95_s']} s, {mesure['erreurs']} erreurs (cible p95 ≤ {CIBLE['p95_s']} s, 0 erreur)")
